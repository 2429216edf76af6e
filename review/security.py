"""Passwords, signed session cookies, CSRF tokens, secure headers, login throttling.

Sessions are a signed (itsdangerous) cookie holding the user id and the CSRF
token; every POST must echo that token in a ``csrf_token`` form field or an
``X-CSRF-Token`` header.
"""

from __future__ import annotations

import functools
import hmac
import logging
import secrets
import threading
import time
from collections import deque
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


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def csrf_matches(expected: str | None, given: str | None) -> bool:
    """Constant-time comparison; a missing token never matches."""
    if not expected or not given:
        return False
    return hmac.compare_digest(expected.encode(), given.encode())


class LoginThrottle:
    """Refuse logins after too many failures per user name and per client address.

    In-process memory: good for one server process; a multi-process deployment
    should put a proxy limit in front as well.
    """

    def __init__(self, max_failures: int = 5, window_s: float = 300.0) -> None:
        self.max_failures = max_failures
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        times = self._failures.setdefault(key, deque())
        while times and now - times[0] > self.window_s:
            times.popleft()
        return times

    def blocked(self, keys: list[str], now: float | None = None) -> bool:
        """True when any of ``keys`` has reached the failure limit in the window."""
        now = time.monotonic() if now is None else now
        with self._lock:
            return any(len(self._recent(k, now)) >= self.max_failures for k in keys)

    def failed(self, keys: list[str], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self._lock:
            for key in keys:
                self._recent(key, now).append(now)

    def succeeded(self, keys: list[str]) -> None:
        with self._lock:
            for key in keys:
                self._failures.pop(key, None)


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
