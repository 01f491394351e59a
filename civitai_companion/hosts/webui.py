"""AUTOMATIC1111 / Forge: what the extension's entry script hands to the app.

The WebUI's Settings page is the one place the app's settings live (``shared.opts``, saved in the
WebUI's ``config.json``); the app reads and writes them through :class:`OptsSettingsStore`. The API
token is the exception: whatever is typed into its password field is moved into the project's token
file (mode 0600) and the field is blanked, because every value in ``shared.opts`` is sent to the browser
with the page. Routes mounted on the WebUI's FastAPI app sit outside Gradio's login, so
:func:`request_allowed` asks Gradio's own ``/user`` endpoint whether the request carries a session.
Every ``modules.*`` import happens inside a function: this module is imported while the WebUI starts.
"""

from __future__ import annotations

import base64
import binascii
import importlib.util
import logging
import os
import secrets
import sys
import threading
from pathlib import Path
from typing import Any, Callable

from .. import config

log = logging.getLogger(__name__)

PREFIX = "/civitai-companion"
SECTION = ("civitai_companion", "Civitai Companion")
OPT = "civitai_companion_"  # every key we add to shared.opts starts with this
NSFW_LEVELS = (("PG", 1), ("PG-13", 2), ("R", 4), ("X", 8), ("XXX", 16))
WORKERS_MAX = 8


def _option_specs() -> list[tuple[str, Any, str]]:
    """(app key, default, label) of each setting; the components are chosen in :func:`register_settings`."""
    return [
        ("token", "", "Civitai API key (stored in the token file with mode 0600; this field is cleared)"),
        ("base_url", "", "Civitai site (empty: CIVITAI_BASE_URL or https://civitai.com)"),
        ("nsfw_level", ["PG"], "Content levels shown when browsing"),
        ("preview_nsfw_level", ["PG"], "Content levels allowed for preview images saved beside models"),
        ("folders", "", "Folder overrides, one 'kind = folder' a line (kinds: lora, checkpoint, embedding, vae, ...)"),
        ("subfolder_template", "", "Sub-folder template for downloads, e.g. {baseModel}/{modelName}"),
        ("download_workers", 2, "Concurrent downloads"),
        ("write_sidecars", True, "Write .civitai.info, preview and <name>.json beside downloaded models"),
        ("scan_on_start", False, "Scan the library in the background after the WebUI has started"),
    ]


def _modules():
    from modules import shared

    return shared


# -- settings ----------------------------------------------------------------------------------------
def nsfw_mask(levels: object) -> int:
    """A list of level names (the Settings checkboxes) as Civitai's bit mask; an int passes through."""
    if isinstance(levels, int) and not isinstance(levels, bool):
        return min(max(levels, 1), 31)
    names = {str(x) for x in levels} if isinstance(levels, (list, tuple, set)) else {str(levels)}
    mask = sum(bit for name, bit in NSFW_LEVELS if name in names)
    return mask or 1


def nsfw_names(mask: object) -> list[str]:
    try:
        value = int(mask)
    except (TypeError, ValueError):
        value = 1
    return [name for name, bit in NSFW_LEVELS if value & bit] or ["PG"]


def parse_folders(text: object) -> dict[str, str]:
    """``kind = folder`` lines into ``{kind: folder}``; a line without ``=`` is skipped with one warning."""
    if isinstance(text, dict):
        return {str(k): str(v) for k, v in text.items() if str(v).strip()}
    folders: dict[str, str] = {}
    for line in str(text or "").splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        kind, sep, folder = line.partition("=")
        if not sep or not kind.strip() or not folder.strip():
            log.warning("Civitai Companion: folder override %r is not 'kind = folder'; ignored", line.strip())
            continue
        folders[kind.strip()] = folder.strip()
    return folders


def format_folders(folders: object) -> str:
    if not isinstance(folders, dict):
        return str(folders or "")
    return "\n".join(f"{k} = {v}" for k, v in folders.items())


class OptsSettingsStore:
    """The app's settings kept in ``shared.opts`` (the WebUI's Settings page, saved in its config.json).

    The token is kept apart, in a JSON file of mode 0600 (``secrets``): every value in ``shared.opts``
    goes to the browser with the page, and the token never does. ``save`` gets the full settings: a
    token absent from them has been cleared.
    """

    def __init__(self, *, shared=None, secrets=None):
        from ..app.settings import JsonSettingsStore

        self._shared = shared
        self.secrets = secrets or JsonSettingsStore(config.config_dir() / SECRETS_FILE_NAME)

    @property
    def shared(self):
        return self._shared or _modules()

    def load(self) -> dict:
        data = self.shared.opts.data
        values = {key: from_option(key, data[OPT + key]) for key, _, _ in _option_specs()
                  if key not in ("token", "scan_on_start") and OPT + key in data}
        token = self.secrets.load().get("token")
        if isinstance(token, str) and token.strip():
            values["token"] = token.strip()
        return values

    def save(self, values: dict) -> None:
        opts = self.shared.opts
        for key, value in values.items():
            if key != "token" and key in _APP_KEYS:
                opts.data[OPT + key] = to_option(key, value)
        token = str(values.get("token") or "").strip()
        if token != (self.secrets.load().get("token") or ""):
            self.secrets.save({"token": token} if token else {})
        config_file = getattr(self.shared, "config_filename", None)
        if config_file and hasattr(opts, "save"):
            opts.save(config_file)


SECRETS_FILE_NAME = "webui-secrets.json"
_APP_KEYS = ("token", "base_url", "nsfw_level", "preview_nsfw_level", "folders", "subfolder_template",
             "download_workers", "write_sidecars")


def from_option(key: str, value: Any) -> Any:
    """A Settings page value as the app's setting (the app checks it)."""
    if key in ("nsfw_level", "preview_nsfw_level"):
        return nsfw_mask(value)
    if key == "folders":
        return parse_folders(value)
    if key == "download_workers":
        try:
            return int(value)
        except (TypeError, ValueError):
            return value
    if key in ("base_url", "subfolder_template", "token"):
        return str(value or "").strip()
    return value


def to_option(key: str, value: Any) -> Any:
    if key in ("nsfw_level", "preview_nsfw_level"):
        return nsfw_names(value)
    if key == "folders":
        return format_folders(value)
    return value


def _changed(key: str) -> Callable[[], None]:
    """The Settings page changed ``key``: the app takes the new value now (a bad one is refused and the
    WebUI puts the old one back). A typed token goes to the secrets file and the field is blanked."""

    def onchange() -> None:
        opts = _modules().opts
        value = from_option(key, opts.data.get(OPT + key))
        if key == "token" and not value:
            return
        if key == "scan_on_start":
            return
        service = _service
        if service is not None:
            service.put_settings({key: value})
        else:
            from ..app import settings as app_settings

            value = app_settings.validate(key, value)
            if key == "token":
                OptsSettingsStore().secrets.save({"token": value})
        if key == "token":
            opts.data[OPT + key] = ""

    return onchange


def register_settings(*, shared=None, gr=None) -> None:
    """One "Civitai Companion" section on the Settings page (``on_ui_settings``)."""
    shared = shared or _modules()
    if gr is None:
        import gradio as gr
    components: dict[str, tuple[Any, Any]] = {
        "token": (gr.Textbox, {"type": "password", "placeholder": "paste a key to save it; it is not shown"}),
        "base_url": (gr.Textbox, {"placeholder": "https://civitai.com"}),
        "nsfw_level": (gr.CheckboxGroup, {"choices": [n for n, _ in NSFW_LEVELS]}),
        "preview_nsfw_level": (gr.CheckboxGroup, {"choices": [n for n, _ in NSFW_LEVELS]}),
        "folders": (gr.Textbox, {"lines": 3, "placeholder": "lora = D:/loras"}),
        "subfolder_template": (gr.Textbox, {"placeholder": "{baseModel}/{modelName}"}),
        "download_workers": (gr.Slider, {"minimum": 1, "maximum": WORKERS_MAX, "step": 1}),
        "write_sidecars": (None, None),
        "scan_on_start": (None, None),
    }
    for key, default, label in _option_specs():
        component, args = components[key]
        info = shared.OptionInfo(default, label, component, args, section=SECTION, onchange=_changed(key))
        shared.opts.add_option(OPT + key, info)
    if shared.opts.data.get(OPT + "token"):  # a key put into config.json by hand moves out of it too
        try:
            _changed("token")()
        except Exception as exc:  # noqa: BLE001 - a bad key is said once; the WebUI starts anyway
            log.warning("Civitai Companion: the API key in the WebUI settings was not taken: %s", exc)


# -- the login rule for mounted routes ---------------------------------------------------------------
def _basic_credentials(request) -> tuple[str, str] | None:
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        user, sep, password = base64.b64decode(value.strip(), validate=True).decode("utf-8").partition(":")
    except (binascii.Error, UnicodeDecodeError):
        return ("", "\0")  # a malformed header never matches
    return (user, password) if sep else ("", "\0")


def _api_auth_ok(request, api_auth: str | None) -> bool | None:
    """True/False for a request with Basic credentials when ``--api-auth`` is set; None when not asked."""
    given = _basic_credentials(request)
    if not api_auth or given is None:
        return None
    for pair in str(api_auth).split(","):
        user, sep, password = pair.strip().partition(":")
        if sep and secrets.compare_digest(user, given[0]) and secrets.compare_digest(password, given[1]):
            return True
    return False


def _user_endpoint(app) -> Callable | None:
    """Gradio's own ``/user`` route: it knows both cookie names (Gradio 3 and 4) and ``auth_dependency``."""
    for route in getattr(getattr(app, "router", None), "routes", ()):
        if getattr(route, "path", None) == "/user" and callable(getattr(route, "endpoint", None)):
            return route.endpoint
    return None


def request_allowed(app, request, *, api_auth: str | None = None) -> bool:
    """May this request use the mounted app? The WebUI's login session, or ``--api-auth`` credentials."""
    basic = _api_auth_ok(request, api_auth)
    if basic is not None:
        return basic
    if not (getattr(app, "auth", None) or getattr(app, "auth_dependency", None)):
        return True  # the WebUI itself has no login
    endpoint = _user_endpoint(app)
    if endpoint is None:
        return False  # a login we cannot check: refuse rather than bypass it
    try:
        return endpoint(request) is not None
    except Exception:  # noqa: BLE001 - a Gradio we do not know: refuse
        log.debug("Gradio's /user endpoint failed", exc_info=True)
        return False


def auth_for(app, *, shared=None) -> Callable:
    def check(request) -> bool:
        cmd_opts = getattr(shared or _modules(), "cmd_opts", None)
        return request_allowed(app, request, api_auth=getattr(cmd_opts, "api_auth", None))

    return check


class LoginRequired:
    """ASGI wrapper: every HTTP request to the mounted app (API and static files alike) passes ``check``."""

    def __init__(self, app, check: Callable):
        self.app, self.check = app, check

    async def __call__(self, scope, receive, send):
        if scope["type"] == "http":
            from starlette.requests import Request
            from starlette.responses import JSONResponse

            if not self.check(Request(scope)):
                answer = JSONResponse({"error": "log in to the WebUI first", "code": "auth_required"},
                                      status_code=401, headers={"Cache-Control": "no-store"})
                await answer(scope, receive, send)
                return
        await self.app(scope, receive, send)


# -- the WebUI's own lists and its hash cache -------------------------------------------------------------
_PAGES = {"lora": "lora", "checkpoint": "checkpoints", "diffusion_model": "checkpoints",
          "embedding": "textual_inversion", "hypernetwork": "hypernetworks"}


def refresh_lists(kind: str) -> None:
    """Make a new file of this kind known to the WebUI now (its Extra Networks page, dropdowns)."""
    try:
        if kind == "vae":
            from modules import shared_items

            shared_items.refresh_vae_list()
            return
        page_name = _PAGES.get(kind)
        if page_name is None:
            return
        from modules import ui_extra_networks

        for page in getattr(ui_extra_networks, "extra_pages", []):
            if getattr(page, "extra_networks_tabname", None) == page_name:
                page.refresh()
    except Exception as exc:  # noqa: BLE001 - a WebUI that differs must not fail the download
        log.warning("Civitai Companion: could not refresh the WebUI's %s list (%s); use its refresh button", kind, exc)


def is_forge() -> bool:
    return "modules_forge" in sys.modules or importlib.util.find_spec("modules_forge") is not None


def host_name() -> str:
    try:
        return "forge" if is_forge() else "a1111"
    except (ImportError, ValueError):
        return "a1111"


# -- the tab, the service, the mount ------------------------------------------------------------------
MOUNT_HTML = (
    '<div class="civitai-companion-bar"><label>Send words to '
    '<select name="civitai-companion-target" aria-label="Prompt to send words to">'
    '<option value="txt2img" selected>txt2img</option><option value="img2img">img2img</option></select></label>'
    '<span class="civitai-companion-status" aria-live="polite"></span></div>'
    '<civitai-companion host="{host}" data-version="{version}"></civitai-companion>'
)


def build_tab(gr) -> Any:
    """The "Civitai" tab: one HTML mount point for the app's web component, the same on Gradio 3 and 4."""
    from .. import __version__

    with gr.Blocks(analytics_enabled=False) as tab:
        gr.HTML(MOUNT_HTML.format(host="a1111", version=__version__), elem_id="civitai_companion_mount")
    return tab


_service = None
_service_lock = threading.Lock()


def get_service():
    """One app service per WebUI process: "Reload UI" mounts it again on a new app, jobs go on."""
    global _service
    with _service_lock:
        if _service is None:
            from ..app.service import AppService

            from . import webui_hashes

            _service = AppService(layout_factory=running_layout, settings=OptsSettingsStore(),
                                  host=host_name(), on_file_added=on_file_added,
                                  before_scan=webui_hashes.import_known, after_scan=webui_hashes.export_known)
        return _service


def running_layout(**options) -> Any:
    """The running WebUI's folders (read from ``modules.paths`` / ``shared.cmd_opts`` on every call)."""
    from .a1111 import A1111Layout

    return A1111Layout(**options)


def on_file_added(path: Path, kind: str) -> None:
    """After a download: the WebUI does not hash the file again, and lists it at once (with its hash, as
    the hash goes into the WebUI's cache before the list is read again)."""
    from . import webui_hashes

    webui_hashes.write_back(Path(path), kind)
    refresh_lists(kind)


def on_app_started(demo, app) -> None:
    """Mount the app's API and static files at PREFIX, behind the WebUI's login when it has one."""
    from ..app.asgi import create_app

    service = get_service()
    app.mount(PREFIX, LoginRequired(create_app(service), auth_for(app)))
    if _modules().opts.data.get(OPT + "scan_on_start"):
        service.start_scan({})  # a job thread of its own: the WebUI's start does not wait for it
