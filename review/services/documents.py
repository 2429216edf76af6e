"""Document requests on a claim: requested -> received (with files) -> reviewed.

A clerk's "request documents" decision opens a request (:func:`open_request`,
called by :func:`review.services.decisions.decide`); the clerk records the
documents received with their files attached, then records them reviewed. A
claim has at most one request outstanding (not yet reviewed). Transitions
other than those of :data:`TRANSITIONS` are refused with :class:`Conflict`;
every transition and every download is audited.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from review import attachments, audit
from review.errors import Conflict, InvalidInput, NotAllowed, NotFound, TooLarge, Unsupported
from review.i18n import N_, Msg
from review.models import Attachment, Claim, DocumentRequest, User
from review.services.decisions import (
    AUDIT_NOTE_CHARS,
    MAX_NOTE_CHARS,
    REVIEWER_ROLES,
    clean_note,
)
from settlement.idnumber import mask_identity_numbers

#: (state, event) -> the state it leads to; nothing else is allowed.
TRANSITIONS = {
    ("requested", "receive"): "received",
    ("received", "review"): "reviewed",
}
#: An event's word in messages.
EVENT_DONE = {"receive": "received", "review": "reviewed"}
#: The states a request is still outstanding in.
OUTSTANDING = ("requested", "received")
#: Files one "received" step takes at most.
MAX_FILES = 10
#: Roles that may download attachments. Data scientists see claims with
#: identity numbers masked; documents cannot be masked, so they are not theirs.
DOWNLOAD_ROLES = REVIEWER_ROLES


def next_state(state: str, event: str) -> str:
    """The state a request in ``state`` moves to on ``event`` (``receive``, ``review``).

    Raises:
        Conflict: the event does not start from that state (the message says
            which states it does start from).
    """
    target = TRANSITIONS.get((state, event))
    if target is None:
        starts = [s for (s, e) in TRANSITIONS if e == event]
        done = EVENT_DONE.get(event, event)
        if starts:
            raise Conflict(
                Msg(
                    N_(
                        "the documents are {state}: only a request {starts} can be marked "
                        "{done} (requested, then received, then reviewed)"
                    ),
                    state=Msg(state),
                    starts=Msg(starts[0]) if len(starts) == 1 else " or ".join(starts),
                    done=Msg(done),
                )
            )
        raise Conflict(
            Msg(
                N_(
                    "the documents are {state}: nothing can be marked {done}"
                    " (requested, then received, then reviewed)"
                ),
                state=Msg(state),
                done=Msg(done),
            )
        )
    return target


def may_work_on(user: User, claim: Claim) -> bool:
    """Whether ``user`` may move the claim's document requests: its clerk, or a supervisor."""
    return user.role == "supervisor" or (
        user.role == "clerk" and claim.assigned_to in (None, user.id)
    )


def outstanding(db: Session, claim_id: str) -> DocumentRequest | None:
    """The claim's request not yet reviewed, if any."""
    return db.scalar(
        select(DocumentRequest).where(
            DocumentRequest.claim_id == claim_id, DocumentRequest.state.in_(OUTSTANDING)
        )
    )


def check_can_request(db: Session, claim_id: str) -> None:
    """Refuse a new request while one is outstanding.

    Raises:
        Conflict: the claim has a request requested or received, not yet reviewed.
    """
    pending = outstanding(db, claim_id)
    if pending is not None:
        raise Conflict(
            Msg(
                N_(
                    "documents are already {state} for this claim: "
                    "record them received and reviewed before asking again"
                ),
                state=Msg(pending.state),
            )
        )


def open_request(db: Session, user: User, claim_id: str, asked: str) -> DocumentRequest:
    """Open a request in state ``requested`` (the caller checked and commits).

    ``asked`` is the decision's note, already masked.
    """
    request = DocumentRequest(
        claim_id=claim_id,
        state="requested",
        asked=asked[:MAX_NOTE_CHARS],
        requested_by=user.name,
        requested_at=audit.now_utc(),
    )
    db.add(request)
    audit.record(db, user, "documents_requested", claim_id, asked[:AUDIT_NOTE_CHARS])
    return request


def _request_for(db: Session, user: User, request_id: int) -> tuple[DocumentRequest, Claim]:
    if user.role not in REVIEWER_ROLES:
        raise NotAllowed(Msg(N_("needs role {roles}"), roles=" or ".join(REVIEWER_ROLES)))
    request = db.get(DocumentRequest, request_id)
    claim = db.get(Claim, request.claim_id) if request is not None else None
    if request is None or claim is None:
        raise NotFound(N_("no such document request"))
    if not may_work_on(user, claim):
        raise NotAllowed(N_("the claim is assigned to another clerk"))
    return request, claim


def check_uploads(uploads: Sequence[attachments.Upload], max_bytes: int) -> list[str]:
    """The sniffed content type of each upload, checked before anything is stored.

    Raises:
        InvalidInput: no file, or more than :data:`MAX_FILES`.
        TooLarge: a file over ``max_bytes``.
        Unsupported: a file whose content is not PDF, PNG or JPEG (whatever its name).
    """
    uploads = [u for u in uploads if u.name or u.data]
    if not uploads:
        raise InvalidInput(N_("attach the documents received (PDF, PNG or JPEG)"))
    if len(uploads) > MAX_FILES:
        raise InvalidInput(Msg(N_("at most {n} files at a time"), n=MAX_FILES))
    kinds = []
    for upload in uploads:
        shown = mask_identity_numbers(upload.name)[:80] or Msg(N_("the file"))
        if len(upload.data) > max_bytes:
            raise TooLarge(
                Msg(
                    N_("{name} is larger than the limit of {limit} bytes"),
                    name=shown,
                    limit=f"{max_bytes:,}",
                )
            )
        kind = attachments.sniff(upload.data)
        if kind is None:
            raise Unsupported(
                Msg(N_("{name} is not a PDF, PNG or JPEG file (judged by its content)"), name=shown)
            )
        kinds.append(kind)
    return kinds


def record_received(
    db: Session,
    user: User,
    request_id: int,
    uploads: Sequence[attachments.Upload],
    note: str,
    *,
    directory: Path,
    max_bytes: int,
) -> DocumentRequest:
    """Record the documents received, storing their files (requested -> received).

    Args:
        db: the session; committed on success.
        user: the claim's clerk or a supervisor.
        request_id: the request.
        uploads: the files, at least one.
        note: optional remark (masked).
        directory: where files are stored (under data_dir, outside any static path).
        max_bytes: the size limit per file.

    Raises:
        NotFound, NotAllowed, Conflict (not in state ``requested``), InvalidInput,
        TooLarge, Unsupported: nothing is stored then.
    """
    request, claim = _request_for(db, user, request_id)
    state = next_state(request.state, "receive")
    uploads = [u for u in uploads if u.name or u.data]
    kinds = check_uploads(uploads, max_bytes)
    now = audit.now_utc()
    written: list[Path] = []
    try:
        for upload, kind in zip(uploads, kinds, strict=True):
            stored = attachments.new_stored_name()
            written.append(attachments.write_file(directory, stored, upload.data))
            db.add(
                Attachment(
                    request_id=request.id,
                    claim_id=claim.claim_id,
                    stored_name=stored,
                    file_name=attachments.safe_name(upload.name, kind),
                    content_type=kind,
                    size_bytes=len(upload.data),
                    sha256=attachments.sha256_hex(upload.data),
                    uploaded_by=user.name,
                    uploaded_at=now,
                )
            )
        request.state = state
        request.received_by = user.name
        request.received_at = now
        request.received_note = clean_note(note) or None
        audit.record(
            db,
            user,
            "documents_received",
            claim.claim_id,
            f"request {request.id}: {len(uploads)} file(s) {request.received_note or ''}".strip()[
                :AUDIT_NOTE_CHARS
            ],
        )
        db.commit()
    except BaseException:  # whatever failed, clean up, then let it through
        db.rollback()
        for path in written:  # no row points at them: leave no orphan file behind
            path.unlink(missing_ok=True)
        raise
    return request


def record_reviewed(db: Session, user: User, request_id: int, note: str) -> DocumentRequest:
    """Record the documents reviewed (received -> reviewed), with what they showed.

    Raises:
        NotFound, NotAllowed, Conflict (not in state ``received``),
        InvalidInput (an empty note).
    """
    request, claim = _request_for(db, user, request_id)
    state = next_state(request.state, "review")
    note = clean_note(note)
    if not note:
        raise InvalidInput(N_("say what the documents showed"))
    request.state = state
    request.reviewed_by = user.name
    request.reviewed_at = audit.now_utc()
    request.reviewed_note = note
    audit.record(
        db,
        user,
        "documents_reviewed",
        claim.claim_id,
        f"request {request.id}: {note}"[:AUDIT_NOTE_CHARS],
    )
    db.commit()
    return request


def requests_of(db: Session, claim_id: str) -> Sequence[DocumentRequest]:
    """The claim's document requests, oldest first."""
    return db.scalars(
        select(DocumentRequest)
        .where(DocumentRequest.claim_id == claim_id)
        .order_by(DocumentRequest.id)
    ).all()


def attachments_of(db: Session, claim_id: str) -> Sequence[Attachment]:
    """The claim's attachments, oldest first."""
    return db.scalars(
        select(Attachment).where(Attachment.claim_id == claim_id).order_by(Attachment.id)
    ).all()


def read_attachment(
    db: Session, user: User, attachment_id: int, *, directory: Path
) -> tuple[Attachment, bytes]:
    """An attachment and its bytes, for a role that may download it (audited).

    Raises:
        NotAllowed: the role may not download documents (:data:`DOWNLOAD_ROLES`).
        NotFound: no such attachment, or its file is gone.
    """
    if user.role not in DOWNLOAD_ROLES:
        raise NotAllowed(
            Msg(N_("documents are for roles {roles} only"), roles=" and ".join(DOWNLOAD_ROLES))
        )
    attachment = db.get(Attachment, attachment_id)
    if attachment is None:
        raise NotFound(N_("no such attachment"))
    try:
        data = attachments.stored_path(directory, attachment.stored_name).read_bytes()
    except FileNotFoundError as exc:
        raise NotFound("the attachment's file is missing from the data directory") from exc
    audit.record(
        db, user, "attachment_download", attachment.claim_id, f"attachment {attachment.id}"
    )
    db.commit()
    return attachment, data
