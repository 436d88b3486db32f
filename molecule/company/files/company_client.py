#!/usr/bin/python3
"""A Matrix client for molecule/company's checks (the client-server API over HTTP, Python's standard library only),
run on the services host, where the SMTP server's Maildir is. Each command prints one JSON object.

  login BASE USER PASSWORD            log in with a password: status, errcode, user_id, seconds, and on success
                                      the account's display name and email addresses (then logs out)
  add-email BASE ADMIN PASSWORD USER_ID EMAIL
                                      as a server admin, give USER_ID the email address EMAIL (admin API)
  reset BASE EMAIL NEW_PASSWORD MAILDIR
                                      password reset by email: request a token, wait for the mail in MAILDIR, open
                                      its link (GET shows the confirmation form, POST confirms), set the password
"""

import email
import email.policy
import json
import mailbox
import re
import secrets
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

LINK = re.compile(r"https?://\S+/_synapse/client/password_reset/email/submit_token\?\S+")


def call(method, url, body=None, token=None):
    """(status, decoded JSON or text) of one request."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if body is not None:
        request.add_header("Content-Type", "application/json")
    if token:
        request.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            status, raw = response.status, response.read()
    except urllib.error.HTTPError as error:
        status, raw = error.code, error.read()
    try:
        return status, json.loads(raw)
    except ValueError:
        return status, raw.decode("utf-8", "replace")


def login(base, user, password):
    start = time.monotonic()
    status, answer = call("POST", base + "_matrix/client/v3/login", {
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": user}, "password": password})
    result = {"status": status, "seconds": round(time.monotonic() - start, 2),
              "errcode": answer.get("errcode") if isinstance(answer, dict) else None}
    if status == 200:
        token, user_id = answer["access_token"], answer["user_id"]
        quoted = urllib.parse.quote(user_id)
        _unused, profile = call("GET", base + "_matrix/client/v3/profile/" + quoted + "/displayname", token=token)
        _unused, threepids = call("GET", base + "_matrix/client/v3/account/3pid", token=token)
        call("POST", base + "_matrix/client/v3/logout", {}, token=token)
        result.update(user_id=user_id, displayname=profile.get("displayname"),
                      emails=[pid["address"] for pid in threepids.get("threepids", []) if pid["medium"] == "email"])
    return result


def add_email(base, admin, password, user_id, address):
    status, answer = call("POST", base + "_matrix/client/v3/login", {
        "type": "m.login.password", "identifier": {"type": "m.id.user", "user": admin}, "password": password})
    if status != 200:
        return {"status": status, "step": "admin login", "answer": answer}
    token = answer["access_token"]
    status, answer = call("PUT", base + "_synapse/admin/v2/users/" + urllib.parse.quote(user_id),
                          {"threepids": [{"medium": "email", "address": address}]}, token=token)
    call("POST", base + "_matrix/client/v3/logout", {}, token=token)
    return {"status": status, "step": "admin API", "emails": [pid["address"] for pid in answer.get("threepids", [])]
            if isinstance(answer, dict) else answer}


def wait_for_mail(maildir, address, seen, timeout=90):
    """The first message to address not among the keys seen, as (headers, plain text)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        box = mailbox.Maildir(maildir, create=True)
        for key in box.keys():
            if key in seen:
                continue
            message = email.message_from_bytes(box.get_bytes(key), policy=email.policy.default)
            if address not in (message["X-RcptTo"] or ""):
                continue
            text = message.get_body(preferencelist=("plain",)).get_content()
            headers = {name: str(message[name]) for name in ("From", "To", "Subject", "X-Peer", "X-RcptTo")}
            headers["Received"] = [str(value) for value in message.get_all("Received", [])]
            return headers, text
        time.sleep(0.5)
    return None, None


def reset(base, address, new_password, maildir):
    steps = {}
    seen = set(mailbox.Maildir(maildir, create=True).keys())
    secret = secrets.token_hex(16)
    status, answer = call("POST", base + "_matrix/client/v3/account/password/email/requestToken",
                          {"client_secret": secret, "email": address, "send_attempt": 1})
    steps["request"] = {"status": status, "answer": answer}
    if status != 200:
        return steps
    start = time.monotonic()
    headers, text = wait_for_mail(maildir, address, seen)
    steps["mail"] = {"headers": headers, "seconds": round(time.monotonic() - start, 2)}
    if text is None:
        return steps
    links = LINK.findall(text)
    steps["mail"]["links"] = links
    if len(links) != 1:
        return steps
    link = links[0]
    status, page = call("GET", link)
    steps["open"] = {"status": status, "form": isinstance(page, str) and "<form" in page}
    status, page = call("POST", link)
    steps["confirm"] = {"status": status, "page": page if status != 200 else ""}
    status, answer = call("POST", base + "_matrix/client/v3/account/password", {
        "new_password": new_password, "logout_devices": True,
        "auth": {"type": "m.login.email.identity", "threepid_creds": {"sid": answer_sid(steps), "client_secret": secret}}})
    steps["password"] = {"status": status, "answer": answer}
    return steps


def answer_sid(steps):
    return steps["request"]["answer"]["sid"]


def main(argv):
    commands = {"login": login, "add-email": add_email, "reset": reset}
    if len(argv) < 2 or argv[1] not in commands:
        sys.exit(__doc__)
    print(json.dumps(commands[argv[1]](*argv[2:])))


if __name__ == "__main__":
    main(sys.argv)
