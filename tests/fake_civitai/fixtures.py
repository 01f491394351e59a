"""The recorded Civitai bodies beside the repository, and Civitai's error bodies rebuilt from their recipes.

The recordings live in `../shared/fixtures/civitai` (next to the repository). A clone without that folder
still gets a working fake: every error body is built here, and the catalog falls back to generated models.
"""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

MODEL_TYPES = [
    "Checkpoint", "TextualInversion", "Hypernetwork", "AestheticGradient", "LORA", "LoCon", "DoRA",
    "Controlnet", "Upscaler", "MotionModule", "VAE", "TextEncoder", "UNet", "CLIPVision", "Poses",
    "Wildcards", "Workflows", "ComfyWorkflows", "Detection", "VisionLanguage", "CLIP", "LLM", "Other",
]
MODEL_SORTS = ["Highest Rated", "Most Downloaded", "Most Liked", "Most Discussed", "Most Collected",
               "Most Images", "Newest", "Oldest"]
IMAGE_SORTS = ["Most Reactions", "Most Comments", "Most Collected", "Newest", "Oldest"]
PERIODS = ["AllTime", "Year", "Month", "Week", "Day"]
STRINGBOOL_TRUE = ["true", "1", "yes", "on", "y", "enabled"]
STRINGBOOL_FALSE = ["false", "0", "no", "off", "n", "disabled"]
IMAGE_NSFW = ["None", "Soft", "Mature", "X"]

PAGE_CAP_BODY = {"error": "You've requested too many pages, please use cursors instead"}
SERVER_ERROR_BODY = {"message": "An unexpected error occurred",
                     "error": "Cannot read properties of undefined (reading 'file')"}
LOGIN_REQUIRED_BODY = {"error": "Unauthorized",
                       "message": "The creator of this asset requires you to be logged in to download it"}
FALLBACK_ENUMS = {
    "ModelType": MODEL_TYPES,
    "ModelFileType": ["Model", "Text Encoder", "Pruned Model", "Negative", "Training Data", "VAE", "Config",
                      "Archive"],
    "BaseModel": ["Flux.1 D", "Illustrious", "NoobAI", "Other", "Pony", "SD 1.5", "SDXL 1.0"],
    "ActiveBaseModel": ["Flux.1 D", "Illustrious", "NoobAI", "Other", "Pony", "SD 1.5", "SDXL 1.0"],
    "BaseModelType": ["Standard", "Inpainting", "Refiner", "Pix2Pix"],
}


def fixtures_dir() -> Path:
    """`FAKE_CIVITAI_FIXTURES` if set, else `<repo>/../shared/fixtures/civitai`."""
    override = os.environ.get("FAKE_CIVITAI_FIXTURES")
    if override:
        return Path(override)
    return Path(__file__).resolve().parents[2].parent / "shared" / "fixtures" / "civitai"


@functools.lru_cache(maxsize=64)
def _fixture_text(path: str) -> str | None:
    try:
        return Path(path).read_text(encoding="utf-8")
    except OSError:
        return None


def load_fixture(name: str):
    """A fresh parsed copy of one recorded body (callers may mutate it), or None when it is not there."""
    text = _fixture_text(str(fixtures_dir() / name))
    return None if text is None else json.loads(text)


def _js_json(value) -> str:
    """JSON.stringify(value, null, 2), which is how zod formats its issue list into `message`."""
    return json.dumps(value, indent=2, ensure_ascii=False)


def zod_body(issues: list) -> dict:
    return {"error": {"name": "ZodError", "message": _js_json(issues)}}


def _expected_one_of(values: list) -> str:
    return "Invalid option: expected one of " + "|".join(json.dumps(v, ensure_ascii=False) for v in values)


def invalid_value_issue(values: list, path: list) -> dict:
    return {"code": "invalid_value", "values": values, "path": path, "message": _expected_one_of(values)}


def too_big_issue(maximum: int, path: list, *, origin: str = "number") -> dict:
    noun = "number to be" if origin == "number" else "array to have"
    suffix = "" if origin == "number" else " items"
    return {"origin": origin, "code": "too_big", "maximum": maximum, "inclusive": True, "path": path,
            "message": f"Too big: expected {noun} <={maximum}{suffix}"}


def too_small_issue(minimum: int, path: list) -> dict:
    return {"origin": "number", "code": "too_small", "minimum": minimum, "inclusive": True, "path": path,
            "message": f"Too small: expected number to be >={minimum}"}


def nan_issue(path: list) -> dict:
    return {"expected": "number", "code": "invalid_type", "received": "NaN", "path": path,
            "message": "Invalid input: expected number, received NaN"}


def types_error(bad_index: int | None) -> dict:
    """`types` is enum | enum[]: a single bad string (or a comma list) fails both union branches."""
    enum_branch = [invalid_value_issue(MODEL_TYPES, [])]
    if bad_index is None:
        array_branch = [{"expected": "array", "code": "invalid_type", "path": [],
                         "message": "Invalid input: expected array, received string"}]
    else:
        array_branch = [invalid_value_issue(MODEL_TYPES, [bad_index])]
    return zod_body([{"code": "invalid_union", "errors": [enum_branch, array_branch], "path": ["types"],
                      "message": "Invalid input"}])


def nsfw_error(path: str = "nsfw") -> dict:
    stringbool = {"code": "invalid_value", "expected": "stringbool", "values": STRINGBOOL_TRUE + STRINGBOOL_FALSE,
                  "path": [], "message": _expected_one_of(STRINGBOOL_TRUE + STRINGBOOL_FALSE)}
    boolean = {"expected": "boolean", "code": "invalid_type", "path": [],
               "message": "Invalid input: expected boolean, received string"}
    inner = {"code": "invalid_union", "errors": [[boolean], [stringbool]], "path": [], "message": "Invalid input"}
    number = {"expected": "number", "code": "invalid_type", "path": [],
              "message": "Invalid input: expected number, received string"}
    return zod_body([{"code": "invalid_union", "errors": [[inner], [number]], "path": [path],
                      "message": "Invalid input"}])


def id_error(raw: str) -> dict:
    """The text-form zod error for a bad `:id` path segment."""
    try:
        number = float(raw)
    except ValueError:
        return {"error": "✖ Invalid input: expected number, received NaN\n  → at id"}
    if number != number:
        return {"error": "✖ Invalid input: expected number, received NaN\n  → at id"}
    if number != int(number):
        return {"error": "✖ Invalid input: expected int, received number\n  → at id"}
    if number <= 0:
        return {"error": "✖ Too small: expected number to be >0\n  → at id"}
    return {"error": "✖ Too big: expected int to be <9007199254740991\n  → at id\n"
                     "✖ Too big: expected number to be <=2147483647\n  → at id"}


def parse_id(raw: str) -> int | None:
    """A valid positive int4 id, or None when Civitai would answer 400."""
    if raw.isdigit() and 0 < int(raw) <= 2147483647:
        return int(raw)
    return None


def hash_list_error(issues: list) -> dict:
    return {"error": "Request must include an array of SHA256 Hashes. " + _js_json(issues)}


def received_type(value) -> str:
    """zod's name for the JS type of a decoded JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    return "object"


def enums() -> dict:
    return load_fixture("willmiao_ComfyUI-Lora-Manager__GET_enums.json") or json.loads(json.dumps(FALLBACK_ENUMS))


def server_error_body() -> dict:
    recorded = load_fixture("errors/civitai_civitai_issue926__GET_models__500.json")
    return recorded or dict(SERVER_ERROR_BODY)


NOT_FOUND_HTML = (
    "<!DOCTYPE html><html><head><meta charSet=\"utf-8\"/><title>404: This page could not be found</title>"
    "</head><body><div id=\"__next\"><div><h1>404</h1><div><h2>This page could not be found.</h2></div>"
    "</div></div></body></html>"
)
LOGIN_HTML = (
    "<!DOCTYPE html><html><head><meta charSet=\"utf-8\"/><title>Sign in to Civitai | Civitai</title></head>"
    "<body><div id=\"__next\"><h1>Sign in to Civitai</h1><p>Sign in to continue.</p></div></body></html>"
)
