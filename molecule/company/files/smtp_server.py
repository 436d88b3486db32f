#!/usr/bin/python3
"""The company's SMTP server for molecule/company (python3-aiosmtpd): it refuses mail before STARTTLS and without a
login (the given user and password), and writes what it accepts into a Maildir, with aiosmtpd's X-Peer, X-MailFrom
and X-RcptTo headers added."""

import argparse
import signal
import ssl

from aiosmtpd.controller import Controller
from aiosmtpd.handlers import Mailbox
from aiosmtpd.smtp import AuthResult, LoginPassword


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", required=True)
    parser.add_argument("--cert", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--user", required=True)
    parser.add_argument("--password", required=True)
    args = parser.parse_args()

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(args.cert, args.key)
    login = LoginPassword(args.user.encode(), args.password.encode())

    def authenticator(_server, _session, _envelope, _mechanism, auth_data):
        return AuthResult(success=auth_data == login)

    # the server's thread inherits the blocked signals: the main thread waits for them below
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGINT})
    # hostname "": every address of the host
    controller = Controller(Mailbox(args.maildir), hostname="", port=args.port,
                            server_hostname="dir.company.test", tls_context=context, require_starttls=True,
                            auth_required=True, auth_require_tls=True, authenticator=authenticator)
    controller.start()
    signal.sigwait({signal.SIGTERM, signal.SIGINT})
    controller.stop()


if __name__ == "__main__":
    main()
