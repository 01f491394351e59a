"""The one app every host shows: a JSON API (``routes``), its operations (``service``), the Starlette app
(``asgi``) and the front end (``static/``). Importing this package imports no web framework."""

from .routes import API_PREFIX, PREFIX

__all__ = ["API_PREFIX", "PREFIX"]
