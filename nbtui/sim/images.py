"""Valid, deterministic PNGs for the simulator's image URLs: landscapes seeded by the prompt.

The served pictures are drawn with Pillow (already a dependency, for the preview), imported
only when a picture is asked for. The same prompt and index always give the same picture,
which keeps snapshots and caches stable. `make_png` (standard library only) makes tiny
swatches for tests of the PNG format itself.
"""

from __future__ import annotations

import colorsys
import functools
import hashlib
import io
import math
import struct
import zlib

__all__ = [
    "PNG_SIGNATURE",
    "colour_for",
    "make_png",
    "make_scene_png",
    "picture_png",
    "png_for_name",
]

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


#: Words that turn the sky to night (stars, a moon): the prompt reads as a night scene.
_NIGHT_WORDS = ("night", "midnight", "moon", "neon", "star", "dark", "galaxy")


def _hsv(hue: float, saturation: float, value: float) -> tuple[int, int, int]:
    red, green, blue = colorsys.hsv_to_rgb(
        hue % 1.0, min(1.0, max(0.0, saturation)), min(1.0, max(0.0, value))
    )
    return round(red * 255), round(green * 255), round(blue * 255)


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return (
        round(a[0] + (b[0] - a[0]) * t),
        round(a[1] + (b[1] - a[1]) * t),
        round(a[2] + (b[2] - a[2]) * t),
    )


def make_scene_png(size: int, prompt: str, index: int = 0) -> bytes:
    """A landscape worth looking at in a preview: a graded sky (a starry night where the
    prompt says night), a haloed sun or moon, and three or four ridges that fade into the
    distance, with a lake below for some prompts.

    The palette and the layout come from a hash of the prompt, so one prompt's images look
    related; `index` moves the sun and the ridges, so a task's images differ. Drawn with
    Pillow (C, a runtime dependency already): about 15 ms of CPU at 512x512
    (`python -m tests.bench.bench_sim_images`).
    """
    if size <= 0:
        raise ValueError("a PNG needs a positive width and height")
    from PIL import Image, ImageDraw  # only when an image is asked for

    seed = hashlib.sha256(prompt.encode("utf-8")).digest()
    vary = hashlib.sha256(f"{index}\x00{prompt}".encode()).digest()
    hue = seed[0] / 255
    night = any(word in prompt.lower() for word in _NIGHT_WORDS)
    if night:
        top, low = _hsv(0.62 + hue * 0.2, 0.75, 0.16), _hsv(0.70 + hue * 0.25, 0.6, 0.5)
        orb = _hsv(0.13, 0.12, 0.98)
    else:
        top, low = _hsv(hue, 0.5, 0.78), _hsv(hue + 0.1, 0.45, 1.0)
        orb = _hsv(0.06 + seed[1] / 255 * 0.08, 0.7, 1.0)

    def sky(y: float) -> tuple[int, int, int]:
        return _mix(top, low, min(1.0, max(0.0, y)) ** 1.3)

    column = Image.new("RGB", (1, 64))
    column.putdata([sky(y / 63) for y in range(64)])
    column = column.resize((1, size), Image.Resampling.BILINEAR)  # smooth, and cheap on 1 px
    image = column.resize((size, size), Image.Resampling.NEAREST)
    draw = ImageDraw.Draw(image)
    if night:
        band = max(1, int(size * 0.55))
        for k in range(70):
            x = (vary[k % 32] * 131 + k * 977) % size
            y = (vary[(k * 7 + 3) % 32] * 53 + k * 389) % band
            r = max(1, size // 256) if k % 6 else max(1, size // 170)
            draw.ellipse((x - r, y - r, x + r, y + r), fill=_mix(orb, low, 0.1 + 0.08 * (k % 4)))
    cx = size * (0.2 + 0.6 * vary[0] / 255)
    cy = size * (0.16 + 0.18 * vary[1] / 255)
    radius = size * (0.06 + 0.04 * seed[2] / 255)
    behind = sky(cy / size)
    for ring in range(12, 0, -1):  # the halo: rings fading into the sky behind them
        halo = radius * (1 + ring * 0.12)
        draw.ellipse(
            (cx - halo, cy - halo, cx + halo, cy + halo),
            fill=_mix(orb, behind, 0.35 + 0.05 * ring),
        )
    draw.ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=orb)
    layers = 3 + seed[3] % 2
    far = _hsv(hue + 0.5, 0.3, 0.3 if night else 0.55)
    near = _hsv(hue + 0.55, 0.55, 0.12)
    horizon = 0.42 + 0.08 * seed[4] / 255
    lake = seed[5] % 3 == 0
    bottom = 0.78 if lake else 0.9
    step = max(1, size // 128)
    for layer in range(layers):
        t = layer / max(layers - 1, 1)
        base = size * (horizon + (bottom - horizon) * t * 0.8)
        height = size * (0.11 - 0.05 * t)
        slow, fast = 1.5 + vary[4 + layer] % 4, 5 + vary[8 + layer] % 7
        p1, p2 = vary[12 + layer] / 40, vary[16 + layer] / 40
        points = [(0.0, float(size))]
        for x in range(0, size + step, step):
            u = x / size
            wave = (
                math.sin(u * slow * 2 + p1)
                + 0.35 * math.sin(u * fast * 2 + p2)
                + 0.08 * math.sin(u * 60 + p1 * 3)
            )
            points.append((float(x), base - height * wave))
        points.append((float(size), float(size)))
        # Distant ridges take on the sky's colour; near ones are dark.
        draw.polygon(points, fill=_mix(_mix(far, behind, 0.35 * (1 - t)), near, t))
    if lake:
        shore = int(size * bottom)
        if 0 < shore < size:
            mirror = image.crop((0, 2 * shore - size, size, shore)).transpose(
                Image.Transpose.FLIP_TOP_BOTTOM
            )
            water = Image.new("RGB", mirror.size, _mix(top, near, 0.5))
            image.paste(Image.blend(mirror, water, 0.45), (0, shore))
            for k in range(1, 9):  # ripples
                y = shore + (size - shore) * k // 9
                draw.line((0, y, size, y), fill=_mix(low, near, 0.4), width=max(1, size // 256))
    out = io.BytesIO()
    # Level 2: half the encoding time of level 6 for a file about 50 % larger (~15 KB).
    image.save(out, "PNG", compress_level=2)
    return out.getvalue()


@functools.lru_cache(maxsize=64)
def picture_png(prompt: str, index: int = 0, size: int = 512) -> bytes:
    """The picture for image `index` of a task with `prompt`: cached (about 15 KB each; an
    image host gets asked again for the same image, and a task's images share a prompt)."""
    return make_scene_png(size, prompt, index)


def png_for_name(name: str, size: int = 512) -> bytes:
    """The picture served at `/images/{name}.png` when no task's prompt is known for it."""
    return picture_png(name, 0, size)
