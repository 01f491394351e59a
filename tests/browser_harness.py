"""Playwright (Python) driving Debian's Chromium against the app served for real and the fake Civitai.

One browser per test session; a fresh context (cookies, storage) per test. Screenshots go to
tests/artifacts/browser/ (ignored by git), kept as the record of what each view looked like.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent / "artifacts" / "browser"
APP = "civitai-companion"  # the element; Playwright's CSS selectors pierce its open shadow root


def _unavailable(reason: str):
    """Skip locally; in CI a missing browser is a failure, never a silent skip."""
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: run bash tests/setup.sh)")
    pytest.skip(f"{reason}; run bash tests/setup.sh")


_shared: dict = {}  # one Playwright per process: every test module that imports `browser` shares it


@pytest.fixture(scope="session")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed")
    if not os.access(CHROMIUM, os.X_OK):
        _unavailable(f"{CHROMIUM} is missing (apt-get install chromium)")
    if _shared:
        _shared["users"] += 1
    else:
        playwright = sync_playwright().start()
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True,
                                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        _shared.update(playwright=playwright, chromium=chromium, users=1)
    try:
        yield _shared["chromium"]
    finally:
        _shared["users"] -= 1
        if not _shared["users"]:
            _shared["chromium"].close()
            _shared.pop("playwright").stop()
            _shared.clear()


class PageErrors(list):
    """Uncaught exceptions and console errors of a page: a test that saw any fails."""


@pytest.fixture
def new_page(browser):
    """new_page(width=1280, height=900, dark=False) → a page in its own context, checked for JS errors."""
    contexts, errors = [], PageErrors()

    def make(*, width: int = 1280, height: int = 900, dark: bool = False):
        context = browser.new_context(viewport={"width": width, "height": height},
                                      color_scheme="dark" if dark else "light")
        context.set_default_timeout(20_000)
        contexts.append(context)
        page = context.new_page()
        page.on("pageerror", lambda exc: errors.append(f"uncaught: {exc}"))
        page.on("console", lambda msg: errors.append(f"console: {msg.text}")
                if msg.type == "error" and not _expected(msg.text) else None)
        return page

    yield make
    for context in contexts:
        context.close()
    assert not errors, "the page logged errors:\n" + "\n".join(errors)


def _expected(text: str) -> bool:
    """Console lines a test provokes on purpose: failed requests the UI turns into messages."""
    return "Failed to load resource" in text


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=False)
    return path


def open_app(page, running, *, fragment: str = "") -> None:
    """Load the standalone page and wait until the element has built its shadow root."""
    page.goto(running.url + "/" + fragment)
    page.locator(f"{APP} nav").wait_for(state="attached")  # a locator, not a JS predicate: works under a strict CSP too


def tab(page, name: str):
    return page.locator(f"{APP} nav button[data-view='{name}']")


def cards(page):
    return page.locator(f"{APP} [data-view='search'] article.card")


class StaticLibrary:
    """A fixed set of index rows, for the Library view at scale (the service only reads through this)."""

    def __init__(self, rows: list[dict]) -> None:
        self._rows = rows

    def rows(self, *, types=(), base_models=(), status=None, query=None) -> list[dict]:
        out = self._rows
        if types:
            out = [r for r in out if r.get("type") in types]
        if base_models:
            out = [r for r in out if r.get("baseModel") in base_models]
        if status == "update":
            out = [r for r in out if r.get("newerVersionId")]
        elif status:
            out = [r for r in out if r.get("status") == status]
        if query:
            q = query.lower()
            out = [r for r in out if q in " ".join([r.get("path") or "", r.get("modelName") or ""]).lower()]
        return out

    def by_version(self, version_id: int) -> list[dict]:
        return [r for r in self._rows if r.get("modelVersionId") == version_id]

    def by_sha256(self, sha256: str):
        return next((r for r in self._rows if (r.get("sha256") or "").upper() == sha256.upper()), None)

    def record_scan(self, entries, folders) -> None:
        pass

    def record_download(self, path, version, file, *, kind=None) -> None:
        pass

    def close(self) -> None:
        pass


def library_rows(count: int, *, folder: str = "/models/loras") -> list[dict]:
    """`count` rows shaped like `scan --json`: a third unknown, every seventh with an update."""
    rows = []
    for i in range(count):
        known = i % 3 != 0
        rows.append({
            "path": f"{folder}/file_{i:05d}.safetensors", "sha256": f"{i:064X}", "kind": "lora",
            "status": "resolved" if known else "unknown", "modelId": 5_100_000 + i if known else None,
            "modelVersionId": 6_100_000 + i if known else None, "modelName": f"Library Model {i:05d}" if known else None,
            "versionName": "v1" if known else None, "type": "LORA", "baseModel": "SDXL 1.0" if i % 2 else "SD 1.5",
            "trainedWords": [f"word_{i:05d}"] if known else [], "newerVersionId": 6_200_000 + i if known and i % 7 == 0 else None,
            "preview": False,  # no preview file: the app sends no preview URL
        })
    return rows
