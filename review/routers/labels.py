"""Label export for data scientists (and supervisors)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from review import audit
from review.deps import DB, LabelReader
from review.labels import label_lines, label_rows
from review.templating import render

router = APIRouter(tags=["labels"])


@router.get("/labels")
def labels_page(request: Request, db: DB, user: LabelReader) -> Response:
    rows = list(label_rows(db))
    return render(
        request,
        "labels.html",
        user,
        count=len(rows),
        fraud=sum(1 for r in rows if r["is_fraud"]),
        sample=rows[:20],
    )


@router.get("/labels/export.jsonl")
def labels_export(request: Request, db: DB, user: LabelReader) -> Response:
    audit.record(db, user, "labels_export")
    db.commit()
    return Response(
        "".join(label_lines(db)),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": 'attachment; filename="labels.jsonl"'},
    )
