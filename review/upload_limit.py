"""Refuse an upload whose declared length is over the limit before its body is read.

FastAPI reads a form (and spools its files to disk) before any dependency or
route runs, so the size of a multipart body is checked here, in the ASGI
stack, on its ``Content-Length``. Each file is checked again on its own by
:mod:`review.services.documents`. A body sent without a length (chunked) is
read; the reverse proxy's body limit should cap those.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Receive, Scope, Send

from review.i18n import N_, Msg

#: Room in an upload's body for the form fields and multipart boundaries, in bytes.
UPLOAD_OVERHEAD_BYTES = 1 << 20


class UploadSizeLimit:
    """413 (the app's error page) for a multipart POST declaring more than ``max_body_bytes``."""

    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] in ("POST", "PUT", "PATCH"):
            headers = Headers(scope=scope)
            length = headers.get("content-length", "")
            if (
                headers.get("content-type", "").startswith("multipart/form-data")
                and length.isdigit()
                and int(length) > self.max_body_bytes
            ):
                from review.error_pages import error_page

                detail = Msg(
                    N_("the upload is larger than {limit} bytes in all"),
                    limit=f"{self.max_body_bytes:,}",
                )
                await error_page(Request(scope), 413, detail)(scope, receive, send)
                return
        await self.app(scope, receive, send)


def max_upload_body(per_file_bytes: int, max_files: int) -> int:
    """The longest multipart body accepted: every file at the limit, and the form around them."""
    return per_file_bytes * max_files + UPLOAD_OVERHEAD_BYTES
