"""Test stand-in for A1111's ``modules.script_callbacks``: extensions register callbacks, the host calls them.

The ``fire_*`` helpers play the host's part: ``fire_ui_tabs()`` returns the ``(blocks, title, elem_id)``
tuples, ``fire_ui_settings()`` and ``fire_app_started(demo, app)`` run the registered functions.
"""

from __future__ import annotations

callbacks: dict[str, list] = {"ui_tabs": [], "ui_settings": [], "app_started": []}


def on_ui_tabs(fn):
    callbacks["ui_tabs"].append(fn)


def on_ui_settings(fn):
    callbacks["ui_settings"].append(fn)


def on_app_started(fn):
    callbacks["app_started"].append(fn)


def fire_ui_tabs() -> list:
    return [tab for fn in callbacks["ui_tabs"] for tab in (fn() or [])]


def fire_ui_settings() -> None:
    for fn in callbacks["ui_settings"]:
        fn()


def fire_app_started(demo, app) -> None:
    for fn in callbacks["app_started"]:
        fn(demo, app)
