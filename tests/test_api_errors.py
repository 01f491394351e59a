"""One mapping function turns every failed response into the right exception with a next step."""

from __future__ import annotations

import pytest

from civitai_companion.api import errors as E

from .civitai_fixtures import load

BASE = "https://civitai.com"


def err(status, body=None, **kw):
    return E.error_for(status, body=body, base_url=BASE, **kw)


def test_tree_inherits_from_builtins():
    assert issubclass(E.CivitaiError, OSError)
    assert issubclass(E.BadRequest, ValueError) and issubclass(E.BadRequest, E.CivitaiError)
    assert issubclass(E.PageLimit, E.BadRequest)
    assert issubclass(E.UnknownRoute, E.NotFound)
    assert issubclass(E.EarlyAccess, E.Forbidden)


def test_login_required_401_from_the_real_body():
    e = err(401, load("errors/alexandersokol_sd-model-organizer_pr80__GET_download_models__401.json"))
    assert type(e) is E.AuthRequired
    assert "requires you to be logged in" in str(e) and "CIVITAI_API_TOKEN" in str(e)


def test_downloads_disabled_is_its_own_error():
    e = err(401, {"error": "Unauthorized", "message": "The creator of this asset has disabled downloads on this file"})
    assert isinstance(e, E.DownloadsDisabled) and "no token" in str(e)


def test_early_access_carries_the_deadline():
    e = err(403, {"error": "Early Access", "deadline": "2026-12-01T00:00:00.000Z", "message": "This asset is in Early Access"})
    assert isinstance(e, E.EarlyAccess) and e.deadline == "2026-12-01T00:00:00.000Z"
    assert "until 1 Dec 2026" in str(e)


def test_other_403_is_forbidden():
    assert type(err(403, {"error": "nope"})) is E.Forbidden


def test_archived_410():
    assert isinstance(err(410, {"error": "Model archived"}), E.Archived)


def test_json_404_uses_the_callers_words():
    e = err(404, {"error": "No model with id 5"}, not_found="no model with id 5")
    assert type(e) is E.NotFound and str(e) == "no model with id 5 on https://civitai.com"


def test_html_404_is_unknown_route():
    e = err(404, "<!DOCTYPE html><html></html>", content_type="text/html; charset=utf-8", url=f"{BASE}/api/v1/models-versions/by-hash/AB")
    assert isinstance(e, E.UnknownRoute) and "/api/v1/models-versions/by-hash/AB" in str(e)


def test_page_cap_429_is_a_usage_error():
    e = err(429, load("errors/dreamfast_go-civitai-downloader_issue1__GET_images_page_cap__429.json"))
    assert isinstance(e, E.PageLimit) and not isinstance(e, E.RateLimited)


def test_rate_limit_429_with_retry_after():
    e = err(429, "<html>", content_type="text/html", headers={"Retry-After": "7"})
    assert isinstance(e, E.RateLimited) and e.retry_after == 7.0


def test_503_overload_is_rate_limited_with_retry_after():
    e = err(503, {"error": "Search is overloaded"}, headers={"Retry-After": "2"})
    assert isinstance(e, E.RateLimited) and e.retry_after == 2.0


def test_500_real_body():
    e = err(500, load("errors/civitai_civitai_issue926__GET_models__500.json"))
    assert isinstance(e, E.ServerError)
    assert "An unexpected error occurred: Cannot read properties of undefined (reading 'file')" in str(e)


def test_region_block_451():
    assert isinstance(err(451, {"error": "blocked", "code": "REGION_BLOCKED"}), E.RegionBlocked)


@pytest.mark.parametrize(
    "key, expected",
    [
        ("models?limit=500", "limit: Too big: expected number to be <=100"),
        ("models?sort=Bad", "sort: Invalid option"),
        ("models?browsingLevel=4", "browsingLevel: Invalid input: expected number, received string"),
        ("models/abc", "Invalid input: expected number, received NaN → at id"),
        ("tags?limit=500 (via tRPC)", "limit: Too big: expected number to be <=200"),
        ("POST by-hash shortHash", "Request must include an array of SHA256 Hashes."),
    ],
)
def test_zod_and_trpc_bodies_become_readable_lines(key, expected):
    fixture = load("errors/zod_error_bodies_derived.json")[key]
    e = err(fixture["status"], fixture["body"])
    assert isinstance(e, E.BadRequest)
    assert expected in str(e) and "\n" not in str(e)


def test_every_derived_error_body_maps_without_raising():
    for key, fixture in load("errors/zod_error_bodies_derived.json").items():
        if "status" in fixture:
            e = err(fixture["status"], fixture["body"])
            assert isinstance(e, E.CivitaiError), key


def test_older_zod_issue_shape():
    body = {"error": {"issues": [{"path": ["types", 0], "message": "Invalid enum value"}], "name": "ZodError"}}
    assert "types.0: Invalid enum value" in str(err(400, body))


def test_redact_url_hides_token_and_signatures():
    url = "https://s.example/f.safetensors?X-Amz-Signature=abc&token=sekrit&name=x"
    red = E.redact_url(url)
    assert "sekrit" not in red and "abc" not in red and "name=x" in red


def test_error_url_is_redacted():
    e = err(404, {"error": "x"}, url=f"{BASE}/api/v1/models/1?token=sekrit")
    assert "sekrit" not in (e.url or "") and "sekrit" not in str(e)


def test_rejected_token_hint_names_the_environment_variable(monkeypatch):
    from civitai_companion import config

    monkeypatch.setenv("CIVITAI_API_KEY", "secret-value")
    token, source = config.api_token_with_source()
    e = err(401, {"error": "Unauthorized"}, has_token=True, token_source=source)
    assert "check CIVITAI_API_KEY" in str(e) and token not in str(e)


def test_rejected_token_hint_names_the_token_file_when_no_variable_is_set():
    from civitai_companion import config

    config.save_token("saved-value")
    token, source = config.api_token_with_source()
    e = err(401, {"error": "Unauthorized"}, has_token=True, token_source=source)
    assert str(config.token_file()) in str(e) and "civitai-companion token" in str(e)
    assert "CIVITAI_API_TOKEN" not in str(e) and token not in str(e)


def test_rejected_token_hint_for_a_token_given_by_the_caller(monkeypatch):
    from civitai_companion import config

    monkeypatch.setenv("CIVITAI_API_TOKEN", "not-this-one")
    assert config.api_token_with_source("given-value") == ("given-value", config.GIVEN_TOKEN)
    e = err(401, {"error": "Unauthorized"}, has_token=True, token_source=config.GIVEN_TOKEN)
    assert "CIVITAI_API_TOKEN" not in str(e) and "the API key given" in str(e)
