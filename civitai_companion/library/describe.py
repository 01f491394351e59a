"""The text A1111 shows for a model: its ``sd version`` and a readable, safe description."""

from __future__ import annotations

import html
import re

from ..api import Model, ModelVersion

DESCRIPTION_LIMIT = 600  # characters: A1111 shows it on the card, where a long page is noise


def sd_version(base_model: str | None, *, host: str = "a1111") -> str:
    """A1111's ``sd version`` for a Civitai base model: exactly SD1, SD2, SDXL or Unknown (Forge: Flux).

    A wrong value hides a LoRA behind A1111's version filter, so anything not known to be one of these
    families is ``Unknown``. Pony V7 is an AuraFlow model despite the name, so it is not SDXL.
    """
    name = " ".join((base_model or "").lower().split())
    if re.match(r"sd ?1(\.|\s|$)", name):
        return "SD1"
    if re.match(r"sd ?2(\.|\s|$)", name):
        return "SD2"
    if name.startswith("pony v7"):
        return "Unknown"
    if name.startswith(("sdxl", "pony")) or name in ("illustrious", "noobai"):
        return "SDXL"
    if name.startswith("flux"):
        return "Flux" if host.lower() == "forge" else "Unknown"
    return "Unknown"


_BLOCK_END = re.compile(r"(?i)<br\s*/?>|</(p|div|h[1-6]|li|tr|blockquote|pre)\s*>")
_LIST_ITEM = re.compile(r"(?i)<li(\s[^>]*)?>")


def html_to_text(markup: str | None) -> str:
    """Civitai's HTML description as plain text that is also safe where A1111 pastes it into a page.

    Tags are stripped by nh3 and entities unescaped, repeatedly, so an escaped ``&lt;script&gt;`` in
    the source cannot come back as a live tag once unescaped.
    """
    import nh3

    if not markup:
        return ""
    text = _LIST_ITEM.sub("- ", _BLOCK_END.sub("\n", markup))
    for _ in range(5):
        cleaned = html.unescape(nh3.clean(text, tags=set(), clean_content_tags={"script", "style"}))
        if cleaned == text:
            break
        text = cleaned
    lines = [" ".join(line.split()) for line in text.replace("\r", "").split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def shorten(text: str, limit: int = DESCRIPTION_LIMIT) -> str:
    """``text`` cut to about ``limit`` characters at a paragraph end, else a sentence end, else a word."""
    if len(text) <= limit:
        return text
    head = text[:limit]
    for mark in ("\n\n", "\n", ". ", "。", " "):
        cut = head.rfind(mark)
        if cut >= limit // 3:
            return head[: cut + (1 if mark in (". ", "。") else 0)].rstrip() + " …"
    return head.rstrip() + "…"


def description_text(version: ModelVersion, model: Model | None = None) -> str:
    """The version's description, else the model's (most real versions have none of their own), as
    sanitised plain text of a sensible length."""
    nested = version.raw.get("model") if isinstance(version.raw.get("model"), dict) else {}
    for markup in (version.description, model.description if model is not None else None, nested.get("description")):
        text = html_to_text(markup) if isinstance(markup, str) else ""
        if text:
            return shorten(text)
    return ""
