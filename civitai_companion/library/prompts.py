"""Trained words -> prompt text, in each host's syntax.

A1111/Forge activate a LoRA (also LoCon/DoRA) with ``<lora:NAME:WEIGHT>`` and a hypernetwork with
``<hypernet:NAME:WEIGHT>``, where NAME is the file name without its extension; an embedding is
activated by writing its name. ComfyUI loads networks with nodes, so its text is plain comma-separated
words (an embedding is written ``embedding:NAME``, ComfyUI's own syntax). Civitai's trained words are
free text: one entry may hold several comma-separated words, and the same word often appears twice, so
words are split and de-duplicated case-insensitively, also against a prompt the user already has.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Iterable

SYNTAXES = ("a1111", "comfyui")
_LORA_TYPES = {"lora", "locon", "dora", "lycoris"}
_TAG = re.compile(r"<\s*([A-Za-z_]+)\s*:\s*([^:>]+?)\s*(?::[^>]*)?>")
_NETWORK = re.compile(r"<\s*(lora|lyco)\s*:\s*([^:>]+?)\s*(?::\s*([^:>]*?)\s*)?(?::[^>]*)?>", re.IGNORECASE)
_WEIGHTED = re.compile(r"^(.*?)(?::\s*-?\d+(?:\.\d+)?)?$")


def network_kind(model_type: str | None) -> str | None:
    """"lora", "embedding", "hypernetwork" or None (checkpoints and the rest: words only)."""
    key = re.sub(r"[\s_\-]+", "", (model_type or "")).lower()
    if key in _LORA_TYPES:
        return "lora"
    if key in ("textualinversion", "embedding"):
        return "embedding"
    if key == "hypernetwork":
        return "hypernetwork"
    return None


def word_key(word: str) -> str:
    """How two prompt words are compared: case, spacing, emphasis brackets and a ``:1.2`` weight ignored."""
    text = " ".join(word.split()).lower()
    while len(text) >= 2 and text[0] + text[-1] in ("()", "[]", "{}"):
        text = text[1:-1].strip()
    match = _WEIGHTED.match(text)
    return " ".join((match.group(1) if match else text).split())


def _pieces(text: str) -> list[str]:
    """``text`` cut at commas that are outside brackets: ``(a, b:1.2)`` stays one word; ``\\(`` is no bracket."""
    out, depth, start, i = [], 0, 0, 0
    while i < len(text):
        char = text[i]
        if char == "\\":
            i += 2
            continue
        if char in "([{<":
            depth += 1
        elif char in ")]}>" and depth:
            depth -= 1
        elif char == "," and depth == 0:
            out.append(text[start:i])
            start = i + 1
        i += 1
    out.append(text[start:])
    return out


def split_words(words: Iterable[str] | str | None) -> list[str]:
    """Comma-split, trimmed, de-duplicated (first spelling kept) words; empty pieces dropped. Weights and
    escaped parentheses stay as written."""
    if words is None:
        return []
    if isinstance(words, str):
        words = [words]
    out: list[str] = []
    seen: set[str] = set()
    for entry in words:
        for part in _pieces(str(entry)):
            word = " ".join(part.split())
            key = word_key(word)
            if key and key not in seen:
                seen.add(key)
                out.append(word)
    return out


def own_network_tags(words: Iterable[str], names: Iterable[str | None]) -> tuple[list[str], float | None]:
    """Trained words minus the ``<lora:...>`` tags that activate this very LoRA, and the creator's weight
    from the first of them. Real LoRAs list ``<lora:name:0.8>`` among their words (any case, sometimes under
    the creator's own file name); the prompt then gets one tag, not two (A1111 would load both). A tag is
    this LoRA's when it names the file (or Civitai's file name), or when it is the only tag there."""
    words = [w for w in words if isinstance(w, str)]
    found = [m for w in words for m in _NETWORK.finditer(w)]
    wanted = {n.strip().lower() for n in names if n and n.strip()}
    mine = [m for m in found if m.group(2).strip().lower() in wanted]
    if not mine and len({m.group(2).strip().lower() for m in found}) == 1:
        mine = found
    if not mine:
        return list(words), None
    spans = {m.group(0) for m in mine}
    weight = None
    for m in mine:
        try:
            weight = float(m.group(3))
            break
        except (TypeError, ValueError):
            continue
    kept = []
    for w in words:
        for span in spans:
            w = w.replace(span, ",")
        w = ", ".join(p.strip() for p in _pieces(w) if p.strip())
        if w:
            kept.append(w)
    return kept, weight


def format_weight(weight: float) -> str:
    return f"{round(float(weight), 4):g}"


def network_tag(kind: str | None, name: str, weight: float) -> str | None:
    """``<lora:NAME:W>`` or ``<hypernet:NAME:W>``; None for kinds A1111 activates without a tag."""
    if kind == "lora":
        return f"<lora:{name}:{format_weight(weight)}>"
    if kind == "hypernetwork":
        return f"<hypernet:{name}:{format_weight(weight)}>"
    return None


def build_prompt(
    trained_words: Iterable[str] | str | None,
    *,
    model_type: str | None = None,
    name: str | None = None,
    weight: float | None = None,
    default_weight: float = 1.0,
    syntax: str = "a1111",
    aliases: Iterable[str] = (),
) -> str:
    """The prompt text that activates one model: ``<lora:NAME:W> word1, word2`` for A1111. The weight is
    ``weight`` (the user's), else the creator's from a tag among the trained words, else ``default_weight``;
    ``aliases`` are other names of the same file (Civitai's file name when the user renamed it)."""
    if syntax not in SYNTAXES:
        raise ValueError(f"unknown prompt syntax {syntax!r}: use one of {', '.join(SYNTAXES)}")
    kind = network_kind(model_type)
    if isinstance(trained_words, str):
        trained_words = [trained_words]
    entries = [w for w in (trained_words or []) if isinstance(w, str)]
    creator = None
    if kind == "lora":
        entries, creator = own_network_tags(entries, [name, *aliases])
    chosen = weight if weight is not None else creator if creator is not None else default_weight
    words = split_words(entries)
    tag = None
    if syntax == "a1111":
        if name and kind in ("lora", "hypernetwork"):
            tag = network_tag(kind, name, chosen)
        elif name and kind == "embedding":
            words = split_words([name, *words])
    elif name and kind == "embedding":
        words = split_words([f"embedding:{name}", *words])
    text = ", ".join(words)
    return f"{tag} {text}".strip() if tag else text


def _tags(text: str) -> set[tuple[str, str]]:
    return {(m.group(1).lower(), m.group(2).strip().lower()) for m in _TAG.finditer(text)}


def append_to_prompt(prompt: str | None, addition: str) -> str:
    """``prompt`` with ``addition`` appended, minus the words and network tags it already has."""
    prompt = (prompt or "").strip().rstrip(",").rstrip()
    have_tags = _tags(prompt)
    have_words = {word_key(w) for w in _TAG.sub(",", prompt).split(",") if word_key(w)}
    tags = []
    for match in _TAG.finditer(addition):
        key = (match.group(1).lower(), match.group(2).strip().lower())
        if key not in have_tags:
            have_tags.add(key)
            tags.append(match.group(0))
    words = [w for w in split_words(_TAG.sub(",", addition)) if word_key(w) not in have_words]
    new = " ".join(tags)
    if words:
        new = f"{new} {', '.join(words)}".strip()
    if not new:
        return prompt
    return f"{prompt}, {new}" if prompt else new


def preferred_weight(model_path: str | os.PathLike) -> float | None:
    """The user's ``preferred weight`` from A1111's ``<base>.json``; None when unset (0 means unset)."""
    from .sidecars import read_user_json

    value = read_user_json(model_path).get("preferred weight")
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if number else None


def edited_activation_text(model_path: str | os.PathLike, info: dict | None = None) -> str | None:
    """The ``activation text`` of ``<base>.json`` when the user edited it (A1111 then prompts with it),
    else None. Edited means: not what we last wrote there, or, with no record of that, other words than
    Civitai's trained words."""
    from .sidecars import read_info, read_user_json, written_user_json

    text = read_user_json(model_path).get("activation text")
    if not isinstance(text, str) or not text.strip():
        return None
    info = info if info is not None else read_info(model_path)
    ours = written_user_json(info).get("activation text")
    if isinstance(ours, str):
        return None if text == ours else text
    trained = (info or {}).get("trainedWords")
    trained = [w for w in trained if isinstance(w, str)] if isinstance(trained, list) else []
    same = [word_key(w) for w in split_words(text)] == [word_key(w) for w in split_words(trained)]
    return None if same else text


def prompt_for_file(
    model_path: str | os.PathLike,
    *,
    syntax: str = "a1111",
    default_weight: float = 1.0,
    weight: float | None = None,
    info: dict | None = None,
) -> str:
    """The prompt for a model file from its sidecars: the words are the ``activation text`` the user
    edited in ``<base>.json``, else Civitai's trained words from ``.civitai.info`` (or ``info``), else any
    ``activation text``; the type comes from the info. The weight is ``weight``, else the user's
    preferred weight, else the creator's (a ``<lora:...>`` tag among the words), else ``default_weight``."""
    from .sidecars import read_info, read_user_json

    path = Path(model_path)
    info = info if info is not None else read_info(path)
    if info:
        words = info.get("trainedWords") if isinstance(info.get("trainedWords"), list) else []
        model = info.get("model") if isinstance(info.get("model"), dict) else {}
        model_type = model.get("type") if isinstance(model.get("type"), str) else None
        edited = edited_activation_text(path, info)
        words = [edited] if edited is not None else words
    else:
        activation = read_user_json(path).get("activation text")
        words, model_type = ([activation] if isinstance(activation, str) else []), None
    chosen = weight if weight is not None else preferred_weight(path)
    words = [w for w in words if isinstance(w, str)]
    return build_prompt(words, model_type=model_type, name=path.stem, weight=chosen, default_weight=default_weight,
                        syntax=syntax, aliases=_file_stems(info))


def _file_stems(info: dict | None) -> list[str]:
    files = (info or {}).get("files")
    names = [f.get("name") for f in files if isinstance(f, dict)] if isinstance(files, list) else []
    return [Path(n).stem for n in names if isinstance(n, str) and n]
