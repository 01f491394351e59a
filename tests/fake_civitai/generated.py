"""The generated part of the catalog: a deterministic spread of types, base models and awkward cases."""

from __future__ import annotations

from .builder import LORA_LIKE, build_model
from .catalog import Catalog

TYPES = ["Checkpoint", "LORA", "LoCon", "DoRA", "TextualInversion", "Hypernetwork", "VAE", "Controlnet",
         "Upscaler", "MotionModule", "Detection", "TextEncoder", "Poses", "Wildcards", "Workflows", "Other",
         "Sculpture"]
BASE_MODELS = ["SD 1.5", "SDXL 1.0", "Pony", "Illustrious", "NoobAI", "Flux.1 D", "Zeta 2"]
UNKNOWN_TYPE, UNKNOWN_BASE = "Sculpture", "Zeta 2"
LEVELS = [1, 1, 2, 1, 4, 1, 8, 1, 16, 1]
CREATORS = ["fakeuser", "pixelsmith", "loralab", "mergemaster", "tinytrainer"]
TAGS = ["style", "character", "concept", "clothing", "anime", "photorealistic", "landscape", "tool",
        "base model", "poses"]
ADJECTIVES = ["Amber", "Brisk", "Cobalt", "Dusky", "Ember", "Frosted", "Gilded", "Hazel", "Ivory", "Jade",
              "Kindled", "Lunar", "Misty", "Neon", "Opal", "Pastel", "Quiet", "Rustic", "Silver", "Velvet"]
NOUNS = ["Fox", "Harbor", "Lantern", "Meadow", "Orchid", "Pine", "Quartz", "Raven", "Sparrow", "Tide",
         "Willow", "Zephyr", "Comet", "Dune"]
BIG_LORA_BYTES = 2_621_544
NON_ASCII_NAME = "Café Noir ✨ Detailer"


def build_generated(catalog: Catalog, count: int) -> tuple[dict, list[int]]:
    """Add `count` models; returns ({case name: first model id showing it}, all new model ids)."""
    special: dict = {}
    ids: list[int] = []
    for i in range(count):
        type_ = TYPES[i % len(TYPES)]
        base = BASE_MODELS[i % len(BASE_MODELS)]
        name = f"{ADJECTIVES[i % len(ADJECTIVES)]} {NOUNS[(i * 3) % len(NOUNS)]} {type_}"
        options: dict = {
            "name": name, "type": type_, "base_model": base, "nsfw_level": LEVELS[i % len(LEVELS)],
            "versions": 3 if i % 5 == 0 else 2 if i % 5 == 1 else 1,
            "file_sizes": (4096 + 512 * (i % 8),), "creator": CREATORS[i % len(CREATORS)],
            "tags": (type_.lower(), TAGS[i % len(TAGS)]), "video": i % 4 == 3,
            "kohya": type_ in LORA_LIKE and i != 1,
        }
        cases = []
        if type_ == "Checkpoint":
            options.update(file_sizes=(8192,), pruned_variant=True,
                           extra_files=({"type": "VAE", "size": 2048},))
            cases.append("checkpoint_with_vae")
        if type_ == "LORA" and i < 2 * len(TYPES):
            options.update(file_sizes=(BIG_LORA_BYTES - 512 * i,), versions=1)
            cases.append("big_lora")
        if type_ in LORA_LIKE and options["kohya"]:
            cases.append("kohya")
        extra = {
            2: ("commercial_string", {"allow_commercial_use": "{Image,Rent}"}),
            3: ("null_stats", {"hide_stats": True}),
            4: ("no_creator", {"creator": None}),
            5: ("archived", {"mode": "Archived"}),
            6: ("early_access", {"early_access": True}),
            7: ("video", {"video": True}),
            8: ("commercial_single", {"allow_commercial_use": "Sell"}),
            10: ("non_ascii", {"name": NON_ASCII_NAME}),
        }.get(i)
        if extra:
            cases.append(extra[0])
            options.update(extra[1])
        if type_ == UNKNOWN_TYPE:
            cases.append("unknown_type")
        if base == UNKNOWN_BASE:
            cases.append("unknown_base")
        if options["versions"] > 1:
            cases.append("multi_version")
        model = build_model(catalog, **options)
        ids.append(model["id"])
        for case in cases:
            special.setdefault(case, model["id"])
    return special, ids
