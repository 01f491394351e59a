"""A faithful local Civitai (API host + storage host) for integration tests, benchmarks and demos.

Independent of `civitai_companion` on purpose: it is the oracle the project is checked against.
"""

from .hashing import civitai_hashes, hash_file, make_safetensors
from .server import FakeCivitai
from .wire import RequestRecord

__all__ = ["FakeCivitai", "RequestRecord", "civitai_hashes", "hash_file", "make_safetensors"]
