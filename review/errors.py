"""Errors of the review app's service layer; the web layer answers each with a status.

ReviewError
├── NotFound       the claim or user does not exist (404)
├── InvalidInput   an action, note or assignee is not acceptable (400)
├── NotAllowed     the user's role or the claim's assignment forbids it (403)
├── Conflict       the claim is someone else's to take, or a document request or
│                  case is not in a state the change starts from (409)
├── TooLarge       an uploaded file is over the size limit (413)
└── Unsupported    an uploaded file is not a PDF, PNG or JPEG by its content (415)

ReferenceDataError (a ValueError)   a reference data file is malformed (start-up)
"""

from __future__ import annotations


class ReviewError(Exception):
    """A review rule refused a change; the message says what was wrong."""


class NotFound(ReviewError):
    """The claim or user named does not exist."""


class InvalidInput(ReviewError):
    """An action, note or assignee is not one the rules accept."""


class NotAllowed(ReviewError):
    """The user may not make this change (role, or the claim is another clerk's)."""


class Conflict(ReviewError):
    """The claim is assigned to someone else, or the state does not allow the change."""


class TooLarge(ReviewError):
    """An uploaded file is larger than the configured limit."""


class Unsupported(ReviewError):
    """An uploaded file's content is not one of the accepted kinds."""


#: The HTTP status the web layer answers each error with.
HTTP_STATUS: dict[type[ReviewError], int] = {
    NotFound: 404,
    InvalidInput: 400,
    NotAllowed: 403,
    Conflict: 409,
    TooLarge: 413,
    Unsupported: 415,
}


class ReferenceDataError(ValueError):
    """A reference data file (names of items, diagnoses, areas) is malformed.

    Not a :class:`ReviewError`: it stops the app's start-up, never a request.
    """
