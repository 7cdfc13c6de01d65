"""Tiny, valid, deterministic PNGs for the simulator's image URLs.

Pure standard library (zlib and struct), so the simulator needs no imaging dependency. The same
name always gives the same picture, which keeps snapshots and caches stable.
"""

from __future__ import annotations

import functools
import hashlib
import struct
import zlib

__all__ = ["PNG_SIGNATURE", "colour_for", "make_png", "png_for_name"]

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def colour_for(name: str) -> tuple[int, int, int]:
    """A stable, reasonably bright colour derived from a name (usually a task id)."""
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    return (64 + digest[0] % 192, 64 + digest[1] % 192, 64 + digest[2] % 192)


def make_png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    """An 8-bit RGB PNG: a diagonal shading of `colour`, so it is not a flat swatch."""
    if width <= 0 or height <= 0:
        raise ValueError("a PNG needs a positive width and height")
    red, green, blue = colour
    rows = bytearray()
    span = max(width + height - 2, 1)
    for y in range(height):
        rows.append(0)  # filter type: none
        for x in range(width):
            factor = 0.55 + 0.45 * (x + y) / span
            rows += bytes((int(red * factor), int(green * factor), int(blue * factor)))
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(bytes(rows), 9))
        + _chunk(b"IEND", b"")
    )


@functools.lru_cache(maxsize=512)
def png_for_name(name: str, size: int = 64) -> bytes:
    """The picture served at `/images/{name}.png`: cached, since image hosts get re-asked."""
    return make_png(size, size, colour_for(name))
