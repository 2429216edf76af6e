"""A logged-in client of the review app, for the tests that drive it over HTTP."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient

from testkit.review_data import demo_password

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def login(
    app: Any, name: str, password: str | None = None, lang: str | None = "en", **client_kw: Any
) -> TestClient:
    """A client logged in as ``name`` (its demo password unless given).

    ``lang`` is chosen with the language switch first: English by default, as
    most tests read English labels; None keeps the default (Chinese).
    """
    client = TestClient(app, **client_kw)
    match = CSRF.search(client.get("/login").text)
    assert match is not None, "the login page has a CSRF token"
    token = match.group(1)
    if lang is not None:
        client.post("/locale", data={"lang": lang, "csrf_token": token, "back": "/login"})
    response = client.post(
        "/login",
        data={"name": name, "password": password or demo_password(name), "csrf_token": token},
    )
    assert response.status_code == 200, response.text[:500]
    return client
