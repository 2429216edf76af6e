"""Review app accounts through the service layer, on a real SQLite database file."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from review.db import make_engine, session_factory, upgrade_head
from review.errors import InvalidInput, NotFound
from review.models import User
from review.security import verify_password
from review.services import users


@pytest.fixture
def db(tmp_path):
    engine = make_engine(f"sqlite:///{tmp_path / 'review.db'}")
    upgrade_head(engine)
    session = session_factory(engine)()
    yield session
    session.close()
    engine.dispose()


def test_save_creates_then_resets_a_user_and_disable_stops_them(db):
    users.save_user(db, "olga", "clerk", "olga-secret-1")
    users.disable_user(db, "olga")
    again = users.save_user(db, "olga", "supervisor", "olga-secret-2")
    assert (again.role, again.active) == ("supervisor", True)
    assert verify_password(again.password_hash, "olga-secret-2")
    assert len(db.scalars(select(User)).all()) == 1
    assert users.disable_user(db, "olga").active is False


def test_unknown_roles_short_passwords_and_unknown_users_are_refused(db):
    with pytest.raises(InvalidInput, match="role must be clerk, supervisor or data_scientist"):
        users.save_user(db, "x", "boss", "abcdefgh1")
    with pytest.raises(InvalidInput, match="use at least 8 characters"):
        users.save_user(db, "x", "clerk", "short")
    with pytest.raises(NotFound, match="no user 'nobody'"):
        users.disable_user(db, "nobody")
    assert db.scalars(select(User)).all() == []
