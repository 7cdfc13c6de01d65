"""Generated PNGs and the image route: valid files, no token needed, tokens that leak are seen."""

from __future__ import annotations

import io
import struct
import zlib

import httpx
import pytest

from nbtui.sim import InProcessSim, SimConfig, SimState, image_app
from nbtui.sim.images import PNG_SIGNATURE, colour_for, make_png, picture_png, png_for_name


def chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    assert png.startswith(PNG_SIGNATURE)
    out = []
    at = len(PNG_SIGNATURE)
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind, data = png[at + 4 : at + 8], png[at + 8 : at + 8 + length]
        (crc,) = struct.unpack(">I", png[at + 8 + length : at + 12 + length])
        assert crc == zlib.crc32(kind + data) & 0xFFFFFFFF
        out.append((kind, data))
        at += 12 + length
    return out


def test_make_png_is_a_valid_rgb_png() -> None:
    png = make_png(5, 3, (200, 100, 50))
    parts = chunks(png)
    assert [kind for kind, _ in parts] == [b"IHDR", b"IDAT", b"IEND"]
    width, height, depth, colour_type, *_ = struct.unpack(">IIBBBBB", parts[0][1])
    assert (width, height, depth, colour_type) == (5, 3, 8, 2)
    pixels = zlib.decompress(parts[1][1])
    assert len(pixels) == 3 * (1 + 5 * 3)
    assert pixels[0] == 0  # no filter
    with pytest.raises(ValueError):
        make_png(0, 3, (0, 0, 0))


def test_pictures_are_deterministic_per_name() -> None:
    assert png_for_name("task-a-0") == png_for_name("task-a-0")
    assert colour_for("task-a-0") == colour_for("task-a-0")
    assert png_for_name("task-a-0") != png_for_name("task-b-0")
    assert all(64 <= c < 256 for c in colour_for("anything"))


async def test_image_route_needs_no_token_and_records_one_that_arrives(sim: InProcessSim) -> None:
    async with httpx.AsyncClient(transport=sim.transport(), base_url=sim.base_url) as client:
        plain = await client.get("/images/4d320ead-0.png")
        leaked = await client.get(
            "/images/4d320ead-0.png", headers={"authorization": "Bearer sim-token"}
        )
        missing = await client.get("/images/..%2Fsecret.png")
    assert plain.status_code == 200
    assert plain.headers["content-type"] == "image/png"
    assert plain.content.startswith(PNG_SIGNATURE)
    assert leaked.content == plain.content
    assert missing.status_code == 404
    logged = sim.state.image_requests()
    assert [(r.had_auth, r.auth_ok) for r in logged[:2]] == [(False, False), (True, True)]
    assert sim.state.request_summary()["images_with_auth"] == 1


async def test_image_app_serves_only_images_and_shares_the_log() -> None:
    state = SimState(SimConfig(image_size=8))
    app = image_app(state)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://cdn.test"
    ) as client:
        image = await client.get("/images/x-1.png")
        api = await client.post("/nano-banana/tasks", json={"action": "retrieve_batch"})
    assert image.status_code == 200
    assert struct.unpack(">II", chunks(image.content)[0][1][:8]) == (8, 8)
    assert api.status_code == 404
    assert [r.host for r in state.requests] == ["cdn.test"]


def test_served_images_are_pictures_not_swatches() -> None:
    """512x512 by default, many colours (sky, halo, ridges), and small to send."""
    from PIL import Image

    png = png_for_name("scene-check-0")
    with Image.open(io.BytesIO(png)) as image:
        assert image.size == (512, 512) and image.format == "PNG"
        colours = image.convert("RGB").getcolors(maxcolors=1 << 16)
    assert colours is not None and len(colours) > 40
    assert len(png) < 100_000


def test_tiny_sizes_still_draw() -> None:
    from PIL import Image

    for size in (1, 2, 8, 33):
        with Image.open(io.BytesIO(picture_png("a moon over a lake", 0, size))) as image:
            assert image.size == (size, size)


def test_a_prompt_gives_related_pictures_and_an_index_moves_them() -> None:
    """The palette is the prompt's (the sky's top colour), the layout the index's."""
    from PIL import Image

    def picture(prompt: str, index: int) -> Image.Image:
        return Image.open(io.BytesIO(picture_png(prompt, index, 64))).convert("RGB")

    first, second = picture("a lighthouse at dawn", 0), picture("a lighthouse at dawn", 1)
    other = picture("a city skyline made of books", 0)
    assert first.getpixel((0, 0)) == second.getpixel((0, 0))
    assert first.tobytes() != second.tobytes()
    assert first.getpixel((0, 0)) != other.getpixel((0, 0))
    assert picture_png("a lighthouse at dawn", 1, 64) == picture_png("a lighthouse at dawn", 1, 64)


async def test_the_image_route_draws_from_the_tasks_prompt() -> None:
    state = SimState(SimConfig(image_size=16))
    task = state.add_task(prompt="a paper boat on a rain puddle", outcome="succeeded", count=2)
    app = image_app(state)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://cdn.test"
    ) as client:
        served = [(await client.get(f"/images/{task}-{i}.png")).content for i in (0, 1)]
    assert served == [picture_png("a paper boat on a rain puddle", i, 16) for i in (0, 1)]
