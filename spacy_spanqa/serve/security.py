"""Loopback or a token: the API answers anyone who can reach it, so beyond this
machine every request must carry `Authorization: Bearer <token>`."""
import hmac
import ipaddress
from typing import Optional

LOOPBACK_NAMES = ("localhost",)


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost: addresses only this machine reaches."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def host_refusal(host: str, token: Optional[str]) -> Optional[str]:
    """Why the server must not start on `host` with `token` (one sentence), or None."""
    if token is not None and not token.strip():
        return "The API token is empty; pass a long random --token (or SPANQA_TOKEN), e.g. from `openssl rand -hex 32`."
    if not is_loopback(host) and not token:
        return (
            f"Listening on {host} lets other machines ask and read insights, so give an API token with --token "
            "or SPANQA_TOKEN (clients send it as `Authorization: Bearer TOKEN`), or keep the default --host 127.0.0.1."
        )
    return None


def token_matches(authorization: Optional[str], token: str) -> bool:
    """True when the Authorization header is `Bearer <token>` (compared in constant time)."""
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())
