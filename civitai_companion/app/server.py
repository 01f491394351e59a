"""The standalone server: the app on uvicorn, bound to 127.0.0.1 unless told otherwise.

The socket is bound before uvicorn starts, so the printed URL is the real one (``--port 0`` picks a free
port) and a port in use is one clear line. Ctrl-C stops uvicorn, then the download queue: a download in
progress keeps its ``.part`` and stays queued, and resumes when the server next starts.
"""

from __future__ import annotations

import errno
import inspect
import logging
import socket
import sys
import threading
from typing import Any, Callable

from .routes import PREFIX

log = logging.getLogger(__name__)

DEFAULT_PORT = 7865
LOOPBACK_NAMES = ["127.0.0.1", "localhost", "::1", "[::1]"]  # the only Host names a loopback server answers


def bind_socket(address: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in address else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((address, port))
    except OSError as exc:
        sock.close()
        if exc.errno == errno.EADDRINUSE:
            raise OSError(exc.errno, f"port {port} is already in use on {address} (choose another with --port)") from None
        raise OSError(exc.errno, f"cannot listen on {address}:{port}: {exc.strerror}") from None
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def make_service(*, host: str = "standalone", root: str | None = None, state_dir: str | None = None) -> Any:
    from .service import AppService, layout_factory_for
    from .settings import JsonSettingsStore

    return AppService(layout_factory=layout_factory_for(host, root), settings=JsonSettingsStore(), host=host,
                      state_dir=state_dir)


def serve(*, host: str = "standalone", root: str | None = None, address: str = "127.0.0.1", port: int = DEFAULT_PORT,
          open_browser: bool = False, say: Callable[[str], Any] | None = None, service: Any = None) -> int:
    """Run until Ctrl-C (or SIGTERM); returns 0 after a clean stop."""
    import uvicorn

    from .asgi import create_app

    say = say or (lambda text: print(text, flush=True))
    sock = bind_socket(address, port)
    service = service or make_service(host=host, root=root)
    loopback = address in ("127.0.0.1", "::1", "localhost")
    app = create_app(service, page=True, trusted_hosts=LOOPBACK_NAMES if loopback else None)
    shown = "127.0.0.1" if address in ("0.0.0.0", "::") else address
    url = f"http://{'[' + shown + ']' if ':' in shown else shown}:{sock.getsockname()[1]}/"
    options = {"log_level": "warning", "access_log": False, "lifespan": "off"}
    if "timeout_graceful_shutdown" in inspect.signature(uvicorn.Config).parameters:  # uvicorn >= 0.24
        options["timeout_graceful_shutdown"] = 5  # Ctrl-C does not wait for a slow image fetch to end
    config = uvicorn.Config(app, **options)
    server = uvicorn.Server(config)
    say(f"Civitai Companion is running at {url}  (API at {url.rstrip('/')}{PREFIX}/api/; Ctrl-C stops it)")
    if not loopback:
        say(f"listening on {address}: anyone who can reach this machine can use it")
    if open_browser:
        threading.Timer(0.5, _open, args=(url,)).start()
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:
        pass
    finally:
        sock.close()
        left = sum(1 for d in service.downloads() if d["state"] in ("queued", "running"))
        service.close()
        if left:
            say(f"stopped; {left} download(s) will resume the next time it starts")
        else:
            say("stopped")
    return 0


def _open(url: str) -> None:
    import webbrowser

    try:
        webbrowser.open(url)
    except Exception as exc:  # noqa: BLE001 - no browser is no reason to stop the server
        print(f"could not open a browser: {exc}", file=sys.stderr)
