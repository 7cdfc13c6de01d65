"""Tiny, valid, deterministic PNGs for the simulator's image URLs.

Pure standard library (zlib and struct), so the simulator needs no imaging dependency. The same
name always gives the same picture, which keeps snapshots and caches stable.
"""

from __future__ import annotations

import functools
import hashlib
import math
import struct
import zlib

__all__ = ["PNG_SIGNATURE", "colour_for", "make_png", "make_scene_png", "png_for_name"]

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


def _encode(width: int, height: int, rows: bytes) -> bytes:
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        PNG_SIGNATURE
        + _chunk(b"IHDR", header)
        + _chunk(b"IDAT", zlib.compress(rows, 9))
        + _chunk(b"IEND", b"")
    )


def make_scene_png(width: int, height: int, name: str) -> bytes:
    """A small generated landscape (sky, sun, two rows of hills) that differs per name.

    Recognisably a picture in a half-block preview, where a flat swatch would look broken.
    """
    if width <= 0 or height <= 0:
        raise ValueError("a PNG needs a positive width and height")
    digest = hashlib.sha256(name.encode("utf-8")).digest()
    sky_top = colour_for(name)
    sky_low = (min(255, sky_top[0] + 90), min(255, sky_top[1] + 70), min(255, sky_top[2] + 40))
    sun = (255, 214 - digest[3] % 60, 90 + digest[4] % 60)
    far = (40 + digest[5] % 60, 90 + digest[6] % 70, 60 + digest[7] % 50)
    near = (far[0] // 2, far[1] // 2, far[2] // 2)
    sun_x = width * (0.2 + 0.6 * digest[8] / 255)
    sun_y = height * (0.2 + 0.2 * digest[9] / 255)
    sun_r = max(2.0, min(width, height) * 0.12)
    phase = digest[10] / 255 * 6.28
    rows = bytearray()
    for y in range(height):
        rows.append(0)  # filter type: none
        t = y / max(height - 1, 1)
        sky: tuple[int, ...] = tuple(
            int(a + (b - a) * t) for a, b in zip(sky_top, sky_low, strict=True)
        )
        for x in range(width):
            u = x / max(width - 1, 1)
            far_ridge = height * (0.58 + 0.08 * math.sin(u * 5.0 + phase))
            near_ridge = height * (0.75 + 0.06 * math.sin(u * 9.0 - phase))
            pixel: tuple[int, ...]
            if y >= near_ridge:
                pixel = near
            elif y >= far_ridge:
                pixel = far
            elif (x - sun_x) ** 2 + (y - sun_y) ** 2 <= sun_r**2:
                pixel = sun
            else:
                pixel = sky
            rows += bytes(pixel)
    return _encode(width, height, bytes(rows))


@functools.lru_cache(maxsize=512)
def png_for_name(name: str, size: int = 64) -> bytes:
    """The picture served at `/images/{name}.png`: cached, since image hosts get re-asked."""
    return make_scene_png(size, size, name)
