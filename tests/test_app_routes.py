"""Every read route of the app's JSON API, served by uvicorn, against the fake Civitai."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.app_harness import app  # noqa: F401 - the fixture


def test_search_returns_cards_with_sized_thumbnails_and_a_cursor(app):
    r = app.get("search", params={"limit": 5})
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/json")
    page = r.json()
    assert len(page["items"]) == 5 and page["nextCursor"]
    card = page["items"][0]
    assert {"id", "name", "type", "baseModel", "creator", "stats", "nsfwLevel", "thumbnail", "versions",
            "installed"} <= set(card)
    assert "/width=450" in card["thumbnail"] and "original=true" not in card["thumbnail"]
    assert card["installed"] == [] and card["versions"][0]["id"]
