"""Civitai REST API v1: the client, its typed results and its errors."""

from .client import CivitaiClient, model_filters, image_filters, normalize_hash
from .errors import (
    Archived,
    AuthRequired,
    BadRequest,
    BadResponse,
    CivitaiError,
    DownloadsDisabled,
    EarlyAccess,
    Forbidden,
    NetworkError,
    NotFound,
    PageLimit,
    RateLimited,
    RegionBlocked,
    ServerError,
    UnknownRoute,
    error_for,
    error_for_response,
    redact_url,
)
from .http import USER_AGENT, Transport, make_session
from .types import Creator, HashMatch, Image, Model, ModelFile, ModelVersion, Page, Stats, Tag

__all__ = [name for name in dir() if not name.startswith("_")]
