"""Single-item API endpoints and routing for the API host."""

from __future__ import annotations

import json
import re

from . import downloads, fixtures, listing, shapes
from .media import media_for_path
from .wire import Request, Response, html_response, json_response

SHA256_RE = re.compile(r"^[0-9a-fA-F]{64}$")
MODEL_NOT_FOUND = {"error": "Model not found"}


def get_model(fake, request: Request, raw_id: str) -> Response:
    model_id = fixtures.parse_id(raw_id)
    if model_id is None:
        return json_response(400, fixtures.id_error(raw_id))
    with fake.catalog.lock:
        model = fake.catalog.models.get(model_id)
        if model is None:
            return json_response(404, {"error": f"No model with id {model_id}"})
        return json_response(200, shapes.model_detail(model))


def get_version(fake, request: Request, raw_id: str) -> Response:
    version_id = fixtures.parse_id(raw_id)
    if version_id is None:
        return json_response(400, fixtures.id_error(raw_id))
    body = fake.catalog.version_body(version_id)
    return json_response(200, body) if body is not None else json_response(404, MODEL_NOT_FOUND)


def get_by_hash(fake, request: Request, value: str) -> Response:
    for entry in fake.catalog.files_by_hash(value):
        body = fake.catalog.version_body(entry.version_id, rated_only=False)
        if body is not None:
            return json_response(200, body)
    return json_response(404, MODEL_NOT_FOUND)


def _hash_list(request: Request, maximum: int) -> list[str] | Response:
    """The POSTed array of SHA-256 strings, or the 400 Civitai sends for a bad body."""
    try:
        payload = json.loads(request.body) if request.body.strip() else None
        received = "undefined" if payload is None and not request.body.strip() else fixtures.received_type(payload)
    except ValueError:
        payload, received = None, "undefined"
    if not isinstance(payload, list):
        issue = {"expected": "array", "code": "invalid_type", "path": [],
                 "message": f"Invalid input: expected array, received {received}"}
        return json_response(400, fixtures.hash_list_error([issue]))
    if len(payload) > maximum:
        return json_response(400, fixtures.hash_list_error([fixtures.too_big_issue(maximum, [], origin="array")]))
    bad = [{"code": "custom", "path": [i], "message": "Invalid hash"}
           for i, value in enumerate(payload) if not isinstance(value, str) or not SHA256_RE.match(value)]
    if bad:
        return json_response(400, fixtures.hash_list_error(bad))
    return payload


def _sha256_matches(fake, hashes):
    """(catalog entry, its SHA-256) for every file whose SHA-256 is one of ``hashes`` (the batch endpoints
    match full SHA-256 only, unlike the GET by any hash kind)."""
    for value in hashes:
        for entry in fake.catalog.files_by_hash(value):
            sha = entry.file.get("hashes", {}).get("SHA256", "")
            if sha.upper() == value.upper():
                yield entry, sha


def post_by_hash(fake, request: Request) -> Response:
    hashes = _hash_list(request, 100)
    if isinstance(hashes, Response):
        return hashes
    bodies = [fake.catalog.version_body(entry.version_id, rated_only=False) for entry, _ in _sha256_matches(fake, hashes)]
    return json_response(200, [body for body in bodies if body is not None])


def post_by_hash_ids(fake, request: Request) -> Response:
    hashes = _hash_list(request, 10_000)
    if isinstance(hashes, Response):
        return hashes
    return json_response(200, [{"modelVersionId": entry.version_id, "modelId": entry.model_id, "hash": sha}
                               for entry, sha in _sha256_matches(fake, hashes)])


def me(fake, request: Request) -> Response:
    if not fake.authorized(request):
        return json_response(401, {"error": "Unauthorized"})
    return json_response(200, dict(fake.me))


def image(fake, request: Request, path: str) -> Response:
    kind, data = media_for_path(path)
    return Response(200, data, kind, [("Cache-Control", "public, max-age=31536000, immutable")])


def not_found(*_args) -> Response:
    return html_response(404, fixtures.NOT_FOUND_HTML)


ROUTES = [
    ("GET", re.compile(r"^/api/v1/models$"), lambda f, r: listing.list_models(f, r)),
    ("GET", re.compile(r"^/api/v1/models/([^/]+)$"), get_model),
    ("GET", re.compile(r"^/api/v1/model-versions/by-hash/([^/]+)$"), get_by_hash),
    ("POST", re.compile(r"^/api/v1/model-versions/by-hash$"), post_by_hash),
    ("POST", re.compile(r"^/api/v1/model-versions/by-hash/ids$"), post_by_hash_ids),
    ("GET", re.compile(r"^/api/v1/model-versions/([^/]+)$"), get_version),
    ("GET", re.compile(r"^/api/v1/images$"), listing.list_images),
    ("GET", re.compile(r"^/api/v1/creators$"), listing.list_creators),
    ("GET", re.compile(r"^/api/v1/tags$"), listing.list_tags),
    ("GET", re.compile(r"^/api/v1/enums$"), lambda f, r: json_response(200, fixtures.enums())),
    ("GET", re.compile(r"^/api/v1/me$"), me),
    ("GET", re.compile(r"^/api/download/models/([^/]+)$"), downloads.download),
    ("GET", re.compile(r"^(/images/.+)$"), image),
    ("GET", re.compile(r"^/login$"), downloads.login_page),
]


def route_api(fake, request: Request) -> Response:
    path = request.path.rstrip("/") or "/"
    method = "GET" if request.method == "HEAD" else request.method
    allowed = False
    for route_method, pattern, handler in ROUTES:
        match = pattern.match(path)
        if not match:
            continue
        if route_method != method:
            allowed = True
            continue
        try:
            return handler(fake, request, *match.groups())
        except listing.Invalid as invalid:
            return invalid.response
    if allowed and path.startswith("/api/"):
        return json_response(405, {"error": "Method Not Allowed"})
    return not_found()
