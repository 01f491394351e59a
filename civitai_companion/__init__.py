"""Civitai Companion: search Civitai, identify local model files by hash, download verified files.

The package is host-free: nothing here imports A1111, Forge or ComfyUI modules at import time.
"""

__version__ = "0.1.0"
