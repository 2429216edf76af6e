"""Attachment files: what a file is (by its first bytes), a safe name, storage on disk.

Only PDF, PNG and JPEG are accepted, recognised by their magic bytes: the name
and the browser's content type are not believed. Files are stored in one
directory under ``data_dir`` (outside any static path) with random names; the
uploaded name is kept only for display and download, sanitised and masked.
"""

from __future__ import annotations

import hashlib
import os
import re
import secrets
import unicodedata
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from settlement.idnumber import mask_identity_numbers

#: Magic bytes -> (content type, extension). JPEG: SOI then any marker.
KINDS = (
    (b"%PDF-", "application/pdf", ".pdf"),
    (b"\x89PNG\r\n\x1a\n", "image/png", ".png"),
    (b"\xff\xd8\xff", "image/jpeg", ".jpg"),
)
EXTENSIONS = {content_type: ext for _, content_type, ext in KINDS}
#: Longest name kept, without its extension.
MAX_STEM_CHARS = 100
#: Characters kept in a name besides letters and digits (any script); others become "_".
_NAME_PUNCTUATION = frozenset(" ._-()（）")
_STORED_NAME = re.compile(r"[0-9a-f]{32}")


@dataclass(frozen=True)
class Upload:
    """One uploaded file as received: the name the browser gave and the bytes."""

    name: str
    data: bytes


def directory_for(data_dir: Path) -> Path:
    """The attachments directory under the data directory (never under ``review/static``)."""
    return Path(data_dir) / "attachments"


def content_disposition(file_name: str) -> str:
    """An ``attachment`` Content-Disposition: an ASCII fallback and the UTF-8 name (RFC 6266)."""
    fallback = "".join(ch if " " <= ch < "\x7f" and ch not in '"\\;' else "_" for ch in file_name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(file_name, safe='')}"


def sniff(data: bytes) -> str | None:
    """The content type of ``data`` by its magic bytes, or None when not PDF, PNG or JPEG."""
    for magic, content_type, _ in KINDS:
        if data.startswith(magic):
            return content_type
    return None


def safe_name(uploaded: str, content_type: str) -> str:
    """A display and download name for an upload: no path, no odd characters, masked.

    The directory part (``../../etc/passwd``, ``C:\\x\\y``) is dropped, control
    characters and punctuation other than ``._-()`` become ``_``, the name is
    cut to 100 characters, identity numbers are masked, and the extension is
    the one of the sniffed content (a PDF named ``scan.png`` is ``scan.pdf``).
    """
    name = unicodedata.normalize("NFC", uploaded).replace("\\", "/").rsplit("/", 1)[-1]
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    stem = "".join(ch if ch.isalnum() or ch in _NAME_PUNCTUATION else "_" for ch in stem)
    stem = mask_identity_numbers(stem.strip(" ._"))[:MAX_STEM_CHARS].strip(" ._")
    return (stem or "document") + EXTENSIONS[content_type]


def new_stored_name() -> str:
    """A random file name for the disk (128 bits, hex)."""
    return secrets.token_hex(16)


def stored_path(directory: Path, stored_name: str) -> Path:
    """Where a stored file lives; refuses a name this module did not make.

    Raises:
        ValueError: ``stored_name`` is not 32 hex digits.
    """
    if not _STORED_NAME.fullmatch(stored_name):
        raise ValueError(f"not a stored attachment name: {stored_name!r}")
    return directory / stored_name


def write_file(directory: Path, stored_name: str, data: bytes) -> Path:
    """Write ``data`` as a new file readable by this user only; never overwrites."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = stored_path(directory, stored_name)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    return path


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
