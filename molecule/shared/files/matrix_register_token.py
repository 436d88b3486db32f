#!/usr/bin/env python3
"""Register an account over the client-server API with a registration token, as a real client does
(matrix-nio's m.login.registration_token flow), then log in with it. Prints one JSON line; exits non-zero
when registration or the login fails. With --expect-failure, succeeds only when registration is refused.
"""

import argparse
import asyncio
import json
import sys

from nio import AsyncClient, LoginResponse, RegisterResponse


async def run(args):
    client = AsyncClient(args.homeserver)
    try:
        response = await client.register_with_token(args.user, args.password, args.token, "molecule-token")
        registered = isinstance(response, RegisterResponse)
        result = {"registered": registered, "response": str(response)[:300]}
        if args.expect_failure:
            if registered:
                raise SystemExit(f"registration with token {args.token!r} was accepted: {response}")
        else:
            if not registered:
                raise SystemExit(f"registration failed: {response}")
            login = await AsyncClient(args.homeserver, response.user_id).login(args.password)
            if not isinstance(login, LoginResponse):
                raise SystemExit(f"login as the new account failed: {login}")
            result["user_id"] = response.user_id
    finally:
        await client.close()
    print(json.dumps(result))


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--homeserver", required=True)
    parser.add_argument("--user", required=True, help="localpart")
    parser.add_argument("--password", required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--expect-failure", action="store_true")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
