"""Engine, sessions and migrations of the review database.

SQLite file by default, PostgreSQL through ``DATABASE_URL``; the schema is
managed by Alembic (``review/migrations``) and upgraded to head at start-up.
Decision, note and audit rows are append-only: a flush that updates or deletes one fails.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from pathlib import Path

from sqlalchemy import Engine, create_engine, event, select
from sqlalchemy.orm import Session, sessionmaker

from review.models import AuditEntry, ClaimNote, Decision, Meta

log = logging.getLogger(__name__)

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def make_engine(url: str) -> Engine:
    """Create the engine; SQLite gets WAL, a busy timeout and cross-thread use."""
    if url.startswith("sqlite"):
        path = url.split("///", 1)[-1]
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30})

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn, _record):  # type: ignore[no-untyped-def]
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def upgrade_head(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    from alembic import command
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.upgrade(config, "head")


def session_factory(engine: Engine) -> sessionmaker[Session]:
    return sessionmaker(bind=engine, expire_on_commit=False)


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, _context, _instances) -> None:  # type: ignore[no-untyped-def]
    # The audit trail must not be rewritten: refuse updates and deletes of its rows.
    for obj in list(session.dirty) + list(session.deleted):
        if isinstance(obj, AuditEntry | Decision | ClaimNote) and (
            obj in session.deleted or session.is_modified(obj)
        ):
            raise PermissionError(f"{type(obj).__name__} rows are append-only")


def person_salt(session: Session) -> bytes:
    """The database's salt for hashing identity numbers, created on first use."""
    row = session.get(Meta, "person_salt")
    if row is None:
        row = Meta(key="person_salt", value=secrets.token_hex(32))
        session.add(row)
        session.flush()
    return bytes.fromhex(row.value)


def person_key(salt: bytes, person_id: str) -> str:
    """A stable pseudonym for linking one patient's claims (never shown).

    Base32 (letters and 2-7) so the token can never look like an identity number.
    """
    digest = hmac.new(salt, person_id.encode(), hashlib.sha256).digest()[:20]
    return base64.b32encode(digest).decode().rstrip("=")


def meta_value(session: Session, key: str) -> str | None:
    return session.scalar(select(Meta.value).where(Meta.key == key))
