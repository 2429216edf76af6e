"""Review app accounts: create or reset a user, disable one, log in, lock out, unlock.

The command line (``yibao users add|disable|unlock|list``) and the login page
call these; the rules (known roles, a minimum password length, the lock-out)
are here. Failed logins are kept in the database, so a lock-out holds across
server processes and ``yibao users unlock`` lifts it from another one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, cast

from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session

from review import audit
from review.errors import InvalidInput, NotFound
from review.models import ROLES, LoginFailure, User
from review.security import hash_password, verify_dummy, verify_password

if TYPE_CHECKING:
    from sqlalchemy.engine import CursorResult

MIN_PASSWORD_CHARS = 8
ROLE_TEXT = "clerk, supervisor or data_scientist"


def check_role(role: str) -> None:
    """Refuse a role the app does not know (:class:`InvalidInput`)."""
    if role not in ROLES:
        raise InvalidInput(f"role must be {ROLE_TEXT}")


def check_password(password: str) -> None:
    """Refuse a password shorter than :data:`MIN_PASSWORD_CHARS` (:class:`InvalidInput`)."""
    if len(password) < MIN_PASSWORD_CHARS:
        raise InvalidInput(f"use at least {MIN_PASSWORD_CHARS} characters")


def save_user(db: Session, name: str, role: str, password: str) -> User:
    """Create user ``name``, or give an existing one this role and password; active either way.

    Raises:
        InvalidInput: an unknown role or a too short password.
    """
    check_role(role)
    check_password(password)
    user = db.scalar(select(User).where(User.name == name))
    if user is None:
        user = User(name=name, created_at=audit.now_utc())
        db.add(user)
    else:
        # A new password (or role) ends every session opened with the old one.
        user.session_version = (user.session_version or 0) + 1
    user.role = role
    user.password_hash = hash_password(password)
    user.active = True
    db.commit()
    return user


def disable_user(db: Session, name: str) -> User:
    """Disable user ``name``: their sessions stop working at the next request.

    Raises:
        NotFound: no user has that name.
    """
    user = db.scalar(select(User).where(User.name == name))
    if user is None:
        raise NotFound(f"no user {name!r}")
    user.active = False
    user.session_version = (user.session_version or 0) + 1
    db.commit()
    return user


@dataclass(frozen=True)
class LockoutPolicy:
    """How many failed logins lock out, within which window."""

    per_user: int = 5  # for one user name from one address
    per_address: int = 30  # from one address, any user names (an office behind one NAT)
    window: timedelta = timedelta(minutes=15)


def _failures(db: Session, policy: LockoutPolicy, name: str, address: str) -> tuple[int, int]:
    since = audit.now_utc() - policy.window
    by_user = db.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(
            LoginFailure.user_name == name[:64],
            LoginFailure.address == address[:64],
            LoginFailure.at > since,
        )
    )
    by_address = db.scalar(
        select(func.count())
        .select_from(LoginFailure)
        .where(LoginFailure.address == address[:64], LoginFailure.at > since)
    )
    return by_user or 0, by_address or 0


def is_locked_out(db: Session, policy: LockoutPolicy, name: str, address: str) -> bool:
    """Whether logins as ``name`` from ``address`` are refused for now.

    The per-user count is per user *and* address: a stranger elsewhere cannot
    lock a clerk out of their own desk by typing wrong passwords for them.
    """
    by_user, by_address = _failures(db, policy, name, address)
    return by_user >= policy.per_user or by_address >= policy.per_address


@dataclass(frozen=True)
class LoginResult:
    """The user logged in (None when refused), and whether a lock-out refused it."""

    user: User | None
    locked_out: bool = False


def authenticate(
    db: Session, policy: LockoutPolicy, name: str, password: str, address: str
) -> LoginResult:
    """Log in as ``name``: the user when the password is right and no lock-out holds.

    A failure (or a refusal while locked out) is recorded and audited, with the
    typed name masked by the audit log; a success clears that user's failures
    from this address. Commits.
    """
    if is_locked_out(db, policy, name, address):
        verify_dummy()
        audit.record(db, None, "login_locked", detail=f"user {name[:64]!r} from {address}")
        db.commit()
        return LoginResult(None, locked_out=True)
    user = db.scalar(select(User).where(User.name == name))
    if user is None:
        verify_dummy()
    if user is None or not user.active or not verify_password(user.password_hash, password):
        db.add(LoginFailure(at=audit.now_utc(), user_name=name[:64], address=address[:64]))
        audit.record(db, None, "login_failed", detail=f"user {name[:64]!r} from {address}")
        db.commit()
        return LoginResult(None)
    db.execute(
        delete(LoginFailure).where(
            LoginFailure.user_name == user.name, LoginFailure.address == address[:64]
        )
    )
    audit.record(db, user, "login")
    db.commit()
    return LoginResult(user)


def unlock(db: Session, name: str | None = None, address: str | None = None) -> int:
    """Forget the failed logins of user ``name`` and/or from ``address``; how many were removed.

    Raises:
        InvalidInput: neither a name nor an address given.
    """
    if not name and not address:
        raise InvalidInput("name a user or an address to unlock")
    query = delete(LoginFailure)
    if name:
        query = query.where(LoginFailure.user_name == name)
    if address:
        query = query.where(LoginFailure.address == address)
    removed = cast("CursorResult[Any]", db.execute(query)).rowcount or 0
    audit.record(db, None, "unlock", detail=f"user {name or '*'!r} from {address or '*'}")
    db.commit()
    return int(removed)


@dataclass(frozen=True)
class UserRow:
    """One line of ``yibao users list``."""

    name: str
    role: str
    active: bool
    recent_failures: int  # failed logins in the lock-out window, from any address
    locked_out: bool  # from at least one address


def list_users(db: Session, policy: LockoutPolicy) -> list[UserRow]:
    """Every user with role, state, and failed logins within the lock-out window."""
    since = audit.now_utc() - policy.window
    total: dict[str, int] = {}
    worst: dict[str, int] = {}
    for name, _address, count in db.execute(
        select(LoginFailure.user_name, LoginFailure.address, func.count())
        .where(LoginFailure.at > since)
        .group_by(LoginFailure.user_name, LoginFailure.address)
    ).all():
        total[name] = total.get(name, 0) + count
        worst[name] = max(worst.get(name, 0), count)
    return [
        UserRow(
            u.name,
            u.role,
            bool(u.active),
            total.get(u.name, 0),
            worst.get(u.name, 0) >= policy.per_user,
        )
        for u in db.scalars(select(User).order_by(User.name))
    ]
