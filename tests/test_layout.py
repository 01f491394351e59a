"""The library/ package keeps the module names users' scripts imported before the move."""

import importlib
import subprocess
import sys

import pytest

MOVED = ["hashing", "hash_batch", "hash_cache", "resolve", "updates", "sidecars", "prompts"]


@pytest.mark.parametrize("name", MOVED)
def test_old_module_name_is_the_moved_module(name):
    old = importlib.import_module(f"civitai_companion.{name}")
    assert old is importlib.import_module(f"civitai_companion.library.{name}")


def test_from_package_import_old_name():
    from civitai_companion import sidecars
    from civitai_companion.library import sidecars as moved

    assert sidecars is moved


def test_library_package_exports_are_lazy_and_real():
    code = (
        "import sys, civitai_companion.library as lib;"
        "assert 'requests' not in sys.modules, 'library/__init__ imported the HTTP client';"
        "from civitai_companion.library import hash_file, scan;"
        "print(hash_file.__module__, scan.__module__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["civitai_companion.library.hashing", "civitai_companion.library.scanner"]


def test_unknown_name_is_an_attribute_error():
    import civitai_companion.library as lib

    with pytest.raises(AttributeError):
        lib.no_such_thing  # noqa: B018
