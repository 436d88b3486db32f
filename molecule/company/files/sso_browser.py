"""A scripted browser for Synapse's single sign-on with OpenID Connect (standard library only).

login: /_matrix/client/v3/login/sso/redirect?redirectUrl=... -> the provider's login form (filled in and posted
as a browser does, hidden fields included) -> Synapse's callback (/_synapse/client/oidc/callback) -> Synapse's
confirmation page, or a straight redirect for a whitelisted client -> the client URL carrying loginToken ->
m.login.token -> whoami and the display name. Prints one JSON line of what it saw.

down: the redirect while the provider is unreachable: prints Synapse's status, content type and whether the page
is its "provider unavailable" page.

Redirects are followed by hand, so the script sees each hop (and never fetches the client URL, which is only a
name). The cookie jar treats http://127.0.0.1 as a secure context, as browsers do for loopback: Synapse marks
its OIDC session cookie Secure, and the test reaches Synapse on loopback.
"""

import argparse
import html.parser
import http.cookiejar
import json
import sys
import urllib.error
import urllib.parse
import urllib.request

HEADERS = {"Accept": "text/html,application/xhtml+xml", "User-Agent": "homeserver.synapse-sso-test/1"}


class LoopbackSecurePolicy(http.cookiejar.DefaultCookiePolicy):
    """Send Secure cookies to loopback over http, as browsers treat http://127.0.0.1 as secure."""

    def return_ok_secure(self, cookie, request):
        host = urllib.parse.urlsplit(request.get_full_url()).hostname
        return host in ("127.0.0.1", "localhost") or super().return_ok_secure(cookie, request)


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Follow no redirect: the 3xx answer comes back as an HTTPError, whose headers the browser reads."""

    def redirect_request(self, *args, **kwargs):
        del args, kwargs


class Forms(html.parser.HTMLParser):
    """Every form of a page: action, method and input fields; and every link."""

    def __init__(self):
        super().__init__()
        self.forms, self.links = [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self.forms.append({"action": attrs.get("action") or "", "method": (attrs.get("method") or "get").lower(),
                               "fields": {}})
        elif tag in ("input", "button") and self.forms and attrs.get("name"):
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs:
                return
            self.forms[-1]["fields"].setdefault(attrs["name"], attrs.get("value") or "")
        elif tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])


class Browser:
    def __init__(self):
        self.jar = http.cookiejar.CookieJar(policy=LoopbackSecurePolicy())
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect())
        self.trail = []

    def request(self, url, data=None, headers=None):
        """One request, no redirect followed: (status, headers, body text)."""
        body = urllib.parse.urlencode(data).encode() if isinstance(data, dict) else data
        request = urllib.request.Request(url, data=body, headers=dict(HEADERS, **(headers or {})))
        try:
            with self.opener.open(request, timeout=30) as response:
                status, head, raw = response.status, response.headers, response.read()
        except urllib.error.HTTPError as error:
            status, head, raw = error.code, error.headers, error.read()
        self.trail.append("%s %s -> %s" % ("POST" if body else "GET", url.split("?")[0], status))
        return status, head, raw.decode("utf-8", "replace")

    def follow(self, url, data=None, stop=None):
        """Follow redirects until a page, or until a Location that stop(url) accepts: (url, status, headers, body)."""
        for _hop in range(20):
            status, head, body = self.request(url, data)
            data = None
            if status not in (301, 302, 303, 307, 308):
                return url, status, head, body
            url = urllib.parse.urljoin(url, head["Location"])
            if stop and stop(url):
                return url, status, head, body
        raise SystemExit("too many redirects: %s" % self.trail)


def api(base, path, payload=None, token=None):
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = "Bearer " + token
    data = json.dumps(payload).encode() if payload is not None else None
    request = urllib.request.Request(base + path, data=data, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")


def sso_redirect_url(base, redirect):
    return base + "/_matrix/client/v3/login/sso/redirect?" + urllib.parse.urlencode({"redirectUrl": redirect})


def login(args):
    browser = Browser()

    def to_client(url):
        return url.startswith(args.redirect)

    # Synapse -> the provider's authorization endpoint -> its login form.
    url, status, _headers, page = browser.follow(sso_redirect_url(args.base, args.redirect), stop=to_client)
    if status != 200:
        raise SystemExit("no login form from the provider: %s %s" % (status, browser.trail))
    parser = Forms()
    parser.feed(page)
    forms = [form for form in parser.forms if "password" in form["fields"]]
    if not forms:
        raise SystemExit("no form with a password field at %s: %s" % (url, page[:2000]))
    form = forms[0]
    fields = dict(form["fields"], user=args.user, password=args.password)
    action = urllib.parse.urljoin(url, form["action"]).split("#")[0]
    # The credentials posted -> the provider redirects to Synapse's callback -> Synapse answers with its
    # confirmation page, or redirects a whitelisted client straight away.
    url, status, _headers, page = browser.follow(action, fields, stop=to_client)
    callback_seen = any("/_synapse/client/oidc/callback" in hop for hop in browser.trail)
    confirmation = False
    if not to_client(url):
        if status != 200:
            raise SystemExit("login ended at %s with %s: %s %s" % (url, status, browser.trail, page[:2000]))
        parser = Forms()
        parser.feed(page)
        links = [link for link in parser.links if link.startswith(args.redirect)]
        if not links:
            raise SystemExit("no link to the client at %s: %s %s" % (url, browser.trail, page[:3000]))
        url, confirmation = links[0].replace("&amp;", "&"), True
    token = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("loginToken", [""])[0]
    if not token:
        raise SystemExit("no loginToken in %s" % url)
    status, session = api(args.base, "/_matrix/client/v3/login", {"type": "m.login.token", "token": token})
    if status != 200:
        raise SystemExit("m.login.token refused: %s %s" % (status, session))
    _code, whoami = api(args.base, "/_matrix/client/v3/account/whoami", token=session["access_token"])
    profile_path = "/_matrix/client/v3/profile/%s/displayname" % urllib.parse.quote(whoami.get("user_id", ""))
    _code, profile = api(args.base, profile_path, token=session["access_token"])
    print(json.dumps({"user_id": whoami.get("user_id"), "login_user_id": session.get("user_id"),
                      "displayname": profile.get("displayname"), "confirmation_page": confirmation,
                      "callback_seen": callback_seen, "trail": browser.trail}))


def down(args):
    browser = Browser()
    status, head, page = browser.request(sso_redirect_url(args.base, args.redirect))
    print(json.dumps({"status": status, "content_type": head.get("Content-Type", ""),
                      "location": head.get("Location", ""),
                      "unavailable_page": "This login provider is unavailable right now" in page,
                      "traceback": "Traceback" in page, "body": page[:300]}))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("mode", choices=["login", "down"])
    parser.add_argument("--base", default="http://127.0.0.1:8008", help="Synapse's public_baseurl, no slash")
    parser.add_argument("--redirect", required=True, help="the client's URL Synapse sends the login token to")
    parser.add_argument("--user", default="")
    parser.add_argument("--password", default="")
    args = parser.parse_args()
    (login if args.mode == "login" else down)(args)


if __name__ == "__main__":
    sys.exit(main())
