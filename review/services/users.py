"""Review app accounts: create or reset a user, disable one.

The command line (``yibao users add|disable``) reads the password and calls
these; the rules (known roles, a minimum password length) are here.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from review import audit
from review.errors import InvalidInput, NotFound
from review.models import ROLES, User
from review.security import hash_password

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
    db.commit()
    return user
