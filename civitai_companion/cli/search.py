"""Commands that read Civitai: search, show, version, lookup, images, creators, tags."""

from __future__ import annotations

import argparse
import os
from .common import UsageError, choice, civitai_id, id_list, make_client, positive_int
from .filters import COMMERCIAL_USES, Enums
from .output import human_size, print_fields, print_json, print_table

# Annotations name civitai_companion.api's Model and ModelVersion as strings: importing the API (and
# requests with it) is for the commands that talk to Civitai, not for --help.

MODEL_SORTS = ("Highest Rated", "Most Downloaded", "Most Liked", "Most Discussed", "Most Collected", "Most Images", "Newest", "Oldest")
IMAGE_SORTS = ("Most Reactions", "Most Comments", "Most Collected", "Newest", "Oldest")
PERIODS = ("AllTime", "Year", "Month", "Week", "Day")
IMAGE_NSFW = ("None", "Soft", "Mature", "X", "true", "false")


def register(sub: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    p = sub.add_parser("search", parents=[common], help="search models")
    p.add_argument("query", nargs="?", help="words to search for in model names")
    p.add_argument("--type", dest="types", action="append", metavar="T", help="model type, e.g. LORA (repeatable)")
    p.add_argument("--base-model", dest="base_models", action="append", metavar="B", help="e.g. 'SDXL 1.0' (repeatable)")
    p.add_argument("--sort", type=choice(MODEL_SORTS, "sort"), metavar="S", help="one of: " + ", ".join(MODEL_SORTS))
    p.add_argument("--period", type=choice(PERIODS, "period"), metavar="P", help="time window for the sort: "
                   + ", ".join(PERIODS))
    p.add_argument("--tag", help="only models with this tag")
    p.add_argument("--username", help="only models by this creator")
    p.add_argument("--nsfw", action="store_true", help="include NSFW models (default: safe for work only)")
    p.add_argument("--primary-file-only", action="store_true", help="list only each version's primary file")
    p.add_argument("--ids", type=id_list, metavar="ID,ID", help="only these model ids")
    p.add_argument("--favorites", action="store_true", help="only your favourites (needs a token)")
    p.add_argument("--hidden", action="store_true", help="only models you hid (needs a token)")
    p.add_argument("--allow-commercial-use", action="append", metavar="USE",
                   type=choice(COMMERCIAL_USES, "commercial use"),
                   help=", ".join(COMMERCIAL_USES[:-1]) + " or " + COMMERCIAL_USES[-1] + " (repeatable)")
    p.add_argument("--allow-derivatives", action="store_true", default=None, help="only models that allow derivatives")
    p.add_argument("--allow-no-credit", action="store_true", default=None, help="only models usable without credit")
    p.add_argument("--allow-different-license", action="store_true", default=None, help="only models allowing other licences")
    p.add_argument("--limit", type=positive_int, default=20, help="how many models to list (default 20)")
    p.set_defaults(func=cmd_search)

    p = sub.add_parser("show", parents=[common], help="show a model and its versions")
    p.add_argument("model_id", type=civitai_id("model"), help="model id")
    p.set_defaults(func=cmd_show)

    p = sub.add_parser("version", parents=[common], help="show a model version")
    p.add_argument("version_id", type=civitai_id("version"), help="model version id")
    p.set_defaults(func=cmd_version)

    p = sub.add_parser("lookup", parents=[common], help="find the version a file or hash belongs to")
    p.add_argument("target", help="a model file, or a hash of any kind (SHA256, AutoV1/2/3, CRC32, BLAKE3)")
    p.set_defaults(func=cmd_lookup)

    p = sub.add_parser("images", parents=[common], help="list images")
    p.add_argument("--model-id", type=civitai_id("model"), metavar="N", help="only images made with this model")
    p.add_argument("--version-id", dest="model_version_id", type=civitai_id("version"), metavar="N",
                   help="only images made with this model version")
    p.add_argument("--post-id", type=civitai_id("post"), metavar="N", help="only images of this post")
    p.add_argument("--username", help="only images posted by this user")
    p.add_argument("--nsfw", type=choice(IMAGE_NSFW, "NSFW level"), metavar="L",
                   help="NSFW level filter: " + ", ".join(IMAGE_NSFW))
    p.add_argument("--sort", type=choice(IMAGE_SORTS, "sort"), metavar="S", help="one of: " + ", ".join(IMAGE_SORTS))
    p.add_argument("--period", type=choice(PERIODS, "period"), metavar="P", help="time window for the sort: "
                   + ", ".join(PERIODS))
    p.add_argument("--limit", type=positive_int, default=20, help="how many images to list (default 20)")
    p.set_defaults(func=cmd_images)

    for name, func in (("creators", cmd_creators), ("tags", cmd_tags)):
        p = sub.add_parser(name, parents=[common], help=f"list {name}")
        p.add_argument("query", nargs="?", help=f"words to search for in {name[:-1]} names")
        p.add_argument("--limit", type=positive_int, default=20, help=f"how many {name} to list (default 20)")
        p.set_defaults(func=func)


def cmd_search(args: argparse.Namespace) -> int:
    client = make_client(args)
    enums = Enums(client)
    enums.check(args.types, "ModelType", "--type", "model type")
    enums.check(args.base_models, "BaseModel", "--base-model", "base model")
    models = list(
        client.models(
            limit=args.limit,
            query=args.query,
            types=args.types,
            base_models=args.base_models,
            sort=args.sort,
            period=args.period,
            tag=args.tag,
            username=args.username,
            nsfw=True if args.nsfw else None,
            primary_file_only=args.primary_file_only or None,
            ids=args.ids,
            favorites=args.favorites,
            hidden=args.hidden,
            allow_commercial_use=args.allow_commercial_use,
            allow_derivatives=args.allow_derivatives,
            allow_no_credit=args.allow_no_credit,
            allow_different_license=args.allow_different_license,
        )
    )
    if _printed_json_or_nothing(args, models, "models"):
        return 0
    rows = []
    for m in models:
        latest = m.latest_version
        rows.append(
            (
                m.id,
                m.type,
                m.name,
                latest.base_model if latest else ", ".join(m.base_models),
                latest.id if latest else None,
                m.stats.download_count,
                m.creator.username if m.creator else None,
            )
        )
    print_table(("ID", "TYPE", "NAME", "BASE MODEL", "LATEST VERSION", "DOWNLOADS", "CREATOR"), rows, cuttable=(2, 6, 3))
    return 0


def _printed_json_or_nothing(args: argparse.Namespace, items: list, noun: str) -> bool:
    """List commands print the API's own objects with --json, and say so when nothing matched;
    True when that was all there was to print."""
    if args.json:
        print_json([item.raw for item in items])
        return True
    if not items:
        print(f"no {noun} found")
        return True
    return False


def cmd_show(args: argparse.Namespace) -> int:
    client = make_client(args)
    return _print_one(args, client.model(args.model_id), _print_model, client.base_url)


def _print_one(args: argparse.Namespace, item, print_human, base_url: str) -> int:
    """show/version/lookup: the API's own object with --json, else the human view."""
    if args.json:
        print_json(item.raw)
    else:
        print_human(item, base_url)
    return 0


def human_date(text: str | None, *, time_of_day: bool = False) -> str | None:
    """``2099-12-31T00:00:00.000Z`` as people write it: ``31 Dec 2099`` (and the UTC time when it matters)."""
    from ..api.errors import human_time

    return human_time(text, time_of_day=time_of_day)


def _print_model(model: "Model", base_url: str) -> None:
    print_fields(
        [
            ("model", f"{model.name} ({model.id})"),
            ("type", model.type),
            ("creator", model.creator.username if model.creator else None),
            ("base models", model.base_models),
            ("tags", model.tags),
            ("downloads", model.stats.download_count),
            ("commercial use", model.allow_commercial_use),
            ("status", model.mode),
            ("page", f"{base_url}/models/{model.id}"),
        ]
    )
    if model.model_versions:
        print()
        rows = []
        for v in model.model_versions:
            f = v.primary_file()
            rows.append((v.id, v.name, v.base_model, human_date(v.published_at), human_size(f and f.size_bytes),
                         ", ".join(v.trained_words)))
        print_table(("VERSION", "NAME", "BASE MODEL", "PUBLISHED", "SIZE", "TRAINED WORDS"), rows, cuttable=(5, 1))


def print_version(version: "ModelVersion", base_url: str) -> None:
    print_fields(
        [
            ("model", f"{version.model.name} ({version.model_id})" if version.model.name else version.model_id),
            ("version", f"{version.name} ({version.id})"),
            ("type", version.model.type),
            ("base model", version.base_model),
            ("trained words", version.trained_words),
            ("published", human_date(version.published_at)),
            ("early access until", human_date(version.early_access_ends_at, time_of_day=True)),
            ("air", version.air),
            ("page", f"{base_url}/models/{version.model_id}?modelVersionId={version.id}" if version.model_id else None),
        ]
    )
    if version.files:
        print()
        rows = [
            (f.id, f.name, f.type, f.metadata.format, f.metadata.fp, human_size(f.size_bytes), f.sha256, "yes" if f.primary else "")
            for f in version.files
        ]
        print_table(("FILE", "NAME", "TYPE", "FORMAT", "FP", "SIZE", "SHA256", "PRIMARY"), rows, cuttable=(2,))


def cmd_version(args: argparse.Namespace) -> int:
    client = make_client(args)
    return _print_one(args, client.model_version(args.version_id), print_version, client.base_url)


def cmd_lookup(args: argparse.Namespace) -> int:
    client = make_client(args)
    target = args.target
    if os.path.isdir(target):
        raise IsADirectoryError(f"{target} is a folder; name a model file or a hash (scan reads folders)")
    if os.path.exists(target):
        from ..library.hash_cache import HashCache
        from ..library.hash_batch import hash_files

        path = os.path.abspath(target)
        with HashCache() as cache:
            result = next(iter(hash_files([path], ["SHA256"], cache=cache).values()))
        if isinstance(result, Exception):
            raise result
        file_hash = result["SHA256"]
    elif _looks_like_a_path(target):
        raise FileNotFoundError(f"no such file: {target}")
    else:
        from ..api import normalize_hash

        try:
            file_hash = normalize_hash(target)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    return _print_one(args, client.version_by_hash(file_hash), print_version, client.base_url)


def _looks_like_a_path(text: str) -> bool:
    """A missing file should say so, not that its name is no hash."""
    return any(sep in text for sep in ("/", "\\")) or os.path.splitext(text)[1] != ""


def cmd_images(args: argparse.Namespace) -> int:
    nsfw = {"true": True, "false": False}.get(args.nsfw, args.nsfw)
    images = list(
        make_client(args).images(
            limit=args.limit,
            model_id=args.model_id,
            model_version_id=args.model_version_id,
            post_id=args.post_id,
            username=args.username,
            nsfw=nsfw,
            sort=args.sort,
            period=args.period,
        )
    )
    if _printed_json_or_nothing(args, images, "images"):
        return 0
    rows = [(i.id, i.type or "image", i.nsfw_level, f"{i.width}x{i.height}", i.username, i.url) for i in images]
    print_table(("ID", "TYPE", "NSFW", "SIZE", "USER", "URL"), rows, cuttable=(4,))
    return 0


def cmd_creators(args: argparse.Namespace) -> int:
    creators = list(make_client(args).creators(query=args.query, limit=args.limit))
    if _printed_json_or_nothing(args, creators, "creators"):
        return 0
    print_table(("USERNAME", "MODELS", "LINK"), [(c.username, c.model_count, c.link) for c in creators])
    return 0


def cmd_tags(args: argparse.Namespace) -> int:
    tags = list(make_client(args).tags(query=args.query, limit=args.limit))
    if _printed_json_or_nothing(args, tags, "tags"):
        return 0
    print_table(("TAG", "LINK"), [(t.name, t.link) for t in tags])
    return 0
