"""Mint a bearer token for the local stack (HS256 with the local signing secret).

python -m devtools.token --scopes o2ims:read,o2dms:read --hours 12
python -m devtools.token --subject smo-b --scopes o2ims:read,o2ims:subscribe   # a second tenant
python -m devtools.token --claim org=operator-x                                # for NETWEAVE_TENANT_CLAIM=org
"""

from __future__ import annotations

import argparse
import os
import secrets
import time
from pathlib import Path

import jwt

from chalicelib.domain.auth import ALL_SCOPES

LOCAL_DIR = Path(__file__).resolve().parent.parent / ".local"
SECRET_FILE = LOCAL_DIR / "jwt-secret"


def local_secret() -> str:
    """The local stack's signing secret: `NETWEAVE_AUTH_SECRET`, else one generated once into `.local/jwt-secret`."""
    if os.environ.get("NETWEAVE_AUTH_SECRET"):
        return os.environ["NETWEAVE_AUTH_SECRET"]
    if not SECRET_FILE.exists():
        LOCAL_DIR.mkdir(parents=True, exist_ok=True)
        SECRET_FILE.write_text(secrets.token_urlsafe(48))
        SECRET_FILE.chmod(0o600)
    return SECRET_FILE.read_text().strip()


def mint_token(
    secret: str,
    scopes: frozenset[str] | set[str] = ALL_SCOPES,
    subject: str = "local-smo",
    issuer: str = "netweave-local",
    audience: str = "netweave",
    ttl_seconds: int = 12 * 3600,
    extra_claims: dict[str, str] | None = None,
) -> str:
    now = int(time.time())
    claims = {
        "sub": subject,
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + ttl_seconds,
        "scope": " ".join(sorted(scopes)),
        **(extra_claims or {}),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def main() -> None:
    parser = argparse.ArgumentParser(description="Mint a bearer token for the local netweave stack.")
    parser.add_argument("--scopes", default=",".join(sorted(ALL_SCOPES)))
    parser.add_argument("--subject", default="local-smo")
    parser.add_argument("--hours", type=float, default=12)
    parser.add_argument("--claim", action="append", default=[], metavar="NAME=VALUE",
                        help="another claim, e.g. the tenant claim NETWEAVE_TENANT_CLAIM names (repeatable)")
    args = parser.parse_args()
    scopes = {s.strip() for s in args.scopes.split(",") if s.strip()}
    claims = dict(item.split("=", 1) for item in args.claim if "=" in item)
    print(mint_token(local_secret(), scopes, args.subject, ttl_seconds=int(args.hours * 3600), extra_claims=claims))


if __name__ == "__main__":
    main()
