"""A claim's case file: the notes thread, document requests and their attachments.

The rules (who may write, the request states, what a file may be) are in
:mod:`review.services.notes` and :mod:`review.services.documents`; a refusal
is answered by the app's error page with its status.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from review import attachments
from review.deps import DB, CurrentUser, Reviewer
from review.models import Claim, User
from review.services import documents, notes
from review.services.decisions import REVIEWER_ROLES, recovery_limit

router = APIRouter(tags=["case files"])


def attachments_dir(request: Request) -> Path:
    return attachments.directory_for(request.app.state.settings.data_dir)


def case_file_context(request: Request, db: Session, user: User, claim: Claim) -> dict[str, Any]:
    """What the claim page shows of the case file (see ``claim_case.html``)."""
    files: dict[int, list[Any]] = {}
    for attachment in documents.attachments_of(db, claim.claim_id):
        files.setdefault(attachment.request_id, []).append(attachment)
    return {
        "notes": notes.thread(db, claim.claim_id),
        "doc_requests": documents.requests_of(db, claim.claim_id),
        "doc_files": files,
        "may_write_notes": user.role in REVIEWER_ROLES,
        "may_move_documents": documents.may_work_on(user, claim),
        "may_download": user.role in documents.DOWNLOAD_ROLES,
        "recovery_limit_fen": recovery_limit(db, claim),
        "attachment_max_mib": request.app.state.settings.review_attachment_max_bytes / (1 << 20),
    }


@router.post("/claims/{claim_id}/notes")
def add_note(db: DB, user: Reviewer, claim_id: str, body: Annotated[str, Form()] = "") -> Response:
    """Add a note to the claim's thread."""
    notes.add_note(db, user, claim_id, body)
    return RedirectResponse(f"/claims/{claim_id}#notes", status_code=303)


@router.post("/documents/{request_id}/received")
def documents_received(
    request: Request,
    db: DB,
    user: Reviewer,
    request_id: int,
    files: Annotated[list[UploadFile] | None, File()] = None,
    note: Annotated[str, Form()] = "",
) -> Response:
    """Record the documents received with their files (PDF, PNG or JPEG)."""
    max_bytes = request.app.state.settings.review_attachment_max_bytes
    # Read one byte past the limit, never the whole of an oversized file.
    uploads = [
        attachments.Upload(name=f.filename or "", data=f.file.read(max_bytes + 1))
        for f in files or []
    ]
    done = documents.record_received(
        db,
        user,
        request_id,
        uploads,
        note,
        directory=attachments_dir(request),
        max_bytes=max_bytes,
    )
    return RedirectResponse(f"/claims/{done.claim_id}#documents", status_code=303)


@router.post("/documents/{request_id}/reviewed")
def documents_reviewed(
    db: DB, user: Reviewer, request_id: int, note: Annotated[str, Form()] = ""
) -> Response:
    """Record the documents reviewed, with what they showed."""
    done = documents.record_reviewed(db, user, request_id, note)
    return RedirectResponse(f"/claims/{done.claim_id}#documents", status_code=303)


@router.get("/attachments/{attachment_id}")
def download(request: Request, db: DB, user: CurrentUser, attachment_id: int) -> Response:
    """The file, as a download that no cache keeps and no browser renders in place."""
    attachment, data = documents.read_attachment(
        db, user, attachment_id, directory=attachments_dir(request)
    )
    return Response(
        data,
        media_type=attachment.content_type,
        headers={
            "Content-Disposition": attachments.content_disposition(attachment.file_name),
            "Cache-Control": "no-store",
            "X-Content-Type-Options": "nosniff",
        },
    )
