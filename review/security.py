"""Passwords, signed session cookies, CSRF tokens, secure headers, proxies, safe redirects.

Sessions are a signed (itsdangerous) cookie holding the user id and the CSRF
token; every POST must echo that token in a ``csrf_token`` form field or an
``X-CSRF-Token`` header.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import logging
import secrets
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from itsdangerous import BadSignature, URLSafeTimedSerializer

from settlement.idnumber import mask_identity_numbers

SESSION_COOKIE = "yibao_session"
SESSION_MAX_AGE_S = 8 * 3600  # one working day

_hasher = PasswordHasher()

SECURE_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}
#: Sent only on pages that came over TLS (directly or from a trusted proxy).
HSTS = "max-age=31536000; includeSubDomains"


def hash_password(password: str) -> str:
    """Argon2id hash of a password."""
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    """True when ``password`` matches ``password_hash``."""
    try:
        return _hasher.verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


@functools.cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_hex(8))


def verify_dummy() -> None:
    """Spend a password check's time when the user does not exist.

    So that timing does not tell which user names exist.
    """
    verify_password(_dummy_hash(), "x")


class SessionCodec:
    """Sign and read the session cookie."""

    def __init__(self, secret_key: str) -> None:
        self._serializer = URLSafeTimedSerializer(secret_key, salt="yibao-review-session")

    def dumps(self, session: dict[str, Any]) -> str:
        return self._serializer.dumps(session)

    def loads(self, cookie: str | None) -> dict[str, Any]:
        """The session in ``cookie``, or an empty dict when absent, forged or expired."""
        if not cookie:
            return {}
        try:
            data = self._serializer.loads(cookie, max_age=SESSION_MAX_AGE_S)
        except BadSignature:
            return {}
        return data if isinstance(data, dict) else {}


def session_is_current(user: Any, session: dict[str, Any]) -> bool:
    """Whether a session still belongs to ``user``: active, and the version it logged in with.

    A password change or disabling bumps ``users.session_version``, so every
    session opened before it stops working at its next request.
    """
    return bool(user.active) and session.get("sv") == user.session_version


def safe_local_path(target: str | None, default: str = "/queue") -> str:
    """``target`` when it is a path on this site, else ``default``.

    Refuses scheme-relative (``//evil.example/x``), backslash (``/\\evil``) and
    absolute (``https://...``) targets, and control characters browsers strip.
    """
    if (
        not target
        or not target.startswith("/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(ch) < 32 or ord(ch) == 127 for ch in target)
    ):
        return default
    return target


def parse_networks(text: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    """Comma-separated addresses or CIDR networks (``10.0.0.1, 10.1.0.0/16``).

    Raises:
        ValueError: an entry is not an address or a network.
    """
    return tuple(
        ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip()
    )


def _in(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_view(
    peer: str | None,
    headers: Any,
    trusted: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...],
) -> tuple[str, bool]:
    """The client's address and whether it came over TLS, as a trusted proxy says.

    ``X-Forwarded-For`` and ``X-Forwarded-Proto`` count only when the direct
    peer is one of the ``trusted`` proxies; then the client is the right-most
    forwarded address that is not itself a trusted proxy. From anyone else the
    headers are ignored: a client cannot pick its own address.

    Returns:
        (address, https-by-proxy)
    """
    address = peer or "?"
    if not trusted or not _in(address, trusted):
        return address, False
    hops = [h.strip() for h in headers.get("x-forwarded-for", "").split(",") if h.strip()]
    for hop in reversed(hops):
        address = hop
        if not _in(hop, trusted):
            break
    proto = headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    return address, proto == "https"


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; a missing token never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


class MaskIdentityNumbers(logging.Filter):
    """A logging filter that masks identity numbers in every record it passes.

    Installed on the server's handlers, so that even a number typed into a
    search field and echoed in an access-log line is masked.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        # Mask the message and each argument in place: formatters such as
        # uvicorn's access formatter unpack the arguments themselves.
        if isinstance(record.msg, str):
            record.msg = mask_identity_numbers(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(
                mask_identity_numbers(a) if isinstance(a, str) else a for a in record.args
            )
        elif isinstance(record.args, dict):
            record.args = {
                k: mask_identity_numbers(v) if isinstance(v, str) else v
                for k, v in record.args.items()
            }
        return True


def install_log_masking(*logger_names: str) -> None:
    """Add :class:`MaskIdentityNumbers` to the handlers of the root and named loggers."""
    mask = MaskIdentityNumbers()
    for name in ("", *logger_names):
        logger = logging.getLogger(name)
        logger.addFilter(mask)
        for handler in logger.handlers:
            handler.addFilter(mask)
