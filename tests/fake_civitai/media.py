"""Small but real preview media (solid-colour PNG and baseline JPEG, a tiny MP4 box), made with the stdlib."""

from __future__ import annotations

import functools
import struct
import zlib

PREVIEW_SIZE = (64, 96)
_BASE83 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz#$%*+,-.:;=?@[]^_{|}~"
CONTENT_TYPES = {".png": "image/png", ".jpeg": "image/jpeg", ".jpg": "image/jpeg", ".mp4": "video/mp4"}


def colour_for(key: str) -> tuple[int, int, int]:
    """A stable colour per image path, so different previews really differ."""
    value = zlib.crc32(key.encode("utf-8"))
    return (value & 0xFF, (value >> 8) & 0xFF, (value >> 16) & 0xFF)


def fake_blurhash(key: str) -> str:
    """A 36-character string in the blurhash alphabet, like Civitai's `hash` of a 4x4-component image."""
    value = zlib.crc32(key.encode("utf-8")) * 0x9E3779B97F4A7C15
    chars = ["U"]
    for _ in range(35):
        value, digit = divmod(value * 31 + 7, 83)
        chars.append(_BASE83[digit])
    return "".join(chars)


def png_bytes(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    row = b"\x00" + bytes(rgb) * width
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(row * height))
            + chunk(b"IEND", b""))


def _dc_bits(diff: int) -> str:
    """JPEG DC difference: 4-bit category (our table gives every category a 4-bit code) + magnitude bits."""
    category = abs(diff).bit_length()
    bits = format(category, "04b")
    if category:
        value = diff if diff > 0 else diff + (1 << category) - 1
        bits += format(value, f"0{category}b")
    return bits


def jpeg_bytes(width: int, height: int, rgb: tuple[int, int, int]) -> bytes:
    """Baseline JPEG of one flat colour: DC-only blocks, quantiser 1, two tiny Huffman tables."""
    r, g, b = rgb
    planes = (
        0.299 * r + 0.587 * g + 0.114 * b,
        128 - 0.168736 * r - 0.331264 * g + 0.5 * b,
        128 + 0.5 * r - 0.418688 * g - 0.081312 * b,
    )
    dcs = [max(-1024, min(1016, round(8 * (p - 128)))) for p in planes]
    blocks = ((width + 7) // 8) * ((height + 7) // 8)
    first = "".join(_dc_bits(dc) + "0" for dc in dcs)
    rest = _dc_bits(0) + "0"
    bits = first + rest * (3 * (blocks - 1))
    bits += "1" * (-len(bits) % 8)
    scan = int(bits, 2).to_bytes(len(bits) // 8, "big").replace(b"\xff", b"\xff\x00")

    def segment(marker: int, payload: bytes) -> bytes:
        return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload

    dc_counts = bytes([0, 0, 0, 12] + [0] * 12)
    ac_counts = bytes([1] + [0] * 15)
    components = b"".join(bytes([cid, 0x11, 0]) for cid in (1, 2, 3))
    return b"".join([
        b"\xff\xd8",
        segment(0xE0, b"JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"),
        segment(0xDB, b"\x00" + b"\x01" * 64),
        segment(0xC0, struct.pack(">BHHB", 8, height, width, 3) + components),
        segment(0xC4, b"\x00" + dc_counts + bytes(range(12))),
        segment(0xC4, b"\x10" + ac_counts + b"\x00"),
        segment(0xDA, b"\x03" + b"".join(bytes([cid, 0x00]) for cid in (1, 2, 3)) + b"\x00\x3f\x00"),
        scan,
        b"\xff\xd9",
    ])


def mp4_bytes(key: str) -> bytes:
    """An ISO-BMFF `ftyp` box plus a `free` box: enough for type sniffing; clients should not play previews."""
    ftyp = b"ftypisom" + struct.pack(">I", 512) + b"isomiso2avc1mp41"
    free = b"free" + key.encode("utf-8")[:64]
    return struct.pack(">I", len(ftyp) + 4) + ftyp + struct.pack(">I", len(free) + 4) + free


@functools.lru_cache(maxsize=512)
def media_for_path(path: str) -> tuple[str, bytes]:
    """(content type, bytes) for an image URL path: JPEG, MP4 or, for any other ending, PNG."""
    name = path.rsplit("/", 1)[-1]
    ext = name[name.rfind("."):].lower() if "." in name else ""
    width, height = PREVIEW_SIZE
    if ext in (".jpeg", ".jpg"):
        return CONTENT_TYPES[ext], jpeg_bytes(width, height, colour_for(path))
    if ext == ".mp4":
        return CONTENT_TYPES[ext], mp4_bytes(path)
    return CONTENT_TYPES[".png"], png_bytes(width, height, colour_for(path))
