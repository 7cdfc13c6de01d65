"""Image download, cache and save (nbtui.media), against the simulator over real loopback.

The simulator serves images from a second port (`separate_image_host=True`) and records
whether each image request carried an Authorization header. Answers the simulator has no
reason to give (redirects, HTML labelled as PNG, a chunked stream without a length, a stall)
come from a small Starlette app through `httpx.ASGITransport`.
"""

from __future__ import annotations

import asyncio
import errno
import os
import webbrowser
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import platformdirs
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response, StreamingResponse
from starlette.routing import Route

from nbtui import media
from nbtui.api.models import Task
from nbtui.config import Settings
from nbtui.media import (
    ImageCache,
    ImageFetcher,
    MediaError,
    SaveError,
    check_image_url,
    default_save_dir,
    is_openable_url,
    open_in_browser,
    save_images,
    sniff_image_type,
)
from nbtui.media import save as media_save
from nbtui.sim import SimConfig, SimServer
from nbtui.sim.images import picture_png, png_for_name

PNG = png_for_name("scripted")
JPEG = b"\xff\xd8\xff\xe0" + b"\x00\x10JFIF\x00" + b"\x00" * 200
WEBP = b"RIFF\x20\x00\x00\x00WEBPVP8 " + b"\x00" * 200


# ------------------------------------------------------------------------------ fixtures


@pytest.fixture(scope="module")
def sim() -> Iterator[SimServer]:
    """One simulator for the module: API on one port, images on another."""
    with SimServer(SimConfig(token="sim-token"), separate_image_host=True) as server:
        yield server


@pytest.fixture
async def fetcher(tmp_path: Path) -> AsyncIterator[ImageFetcher]:
    async with ImageFetcher(tmp_path / "cache" / "images") as f:
        yield f


def served_png(sim: SimServer, url: str) -> bytes:
    """The picture the simulator serves at `url` (`{task id}-{index}.png`, drawn from the
    task's prompt)."""
    task_id, _, index = urlsplit(url).path.rsplit("/", 1)[1].removesuffix(".png").rpartition("-")
    task = sim.state.task(task_id)
    assert task is not None
    return picture_png(task.request["prompt"], int(index), sim.state.config.image_size)


def finished_task(sim: SimServer, *, count: int = 1) -> Task:
    task_id = sim.state.add_task(
        outcome="succeeded", pending_seconds=0, running_seconds=0, count=count
    )
    raw = sim.state.record(task_id)
    assert raw is not None
    task = Task.from_raw(raw)
    assert len(task.image_urls) == count
    return task


def requests_for(sim: SimServer, url: str) -> list[bool]:
    """`had_auth` of every request the image host got for `url`'s path."""
    path = urlsplit(url).path
    return [r.had_auth for r in sim.state.image_requests() if r.path == path]


def task_with_urls(task_id: str, urls: list[str]) -> Task:
    return Task.from_raw(
        {
            "id": task_id,
            "request": {"action": "generate", "prompt": "p"},
            "response": {"success": True, "data": [{"image_url": u} for u in urls]},
        }
    )


def scripted_app() -> Starlette:
    """Answers the simulator never gives. Host `cdn.test` serves; `api.test` redirects there."""
    seen_auth: list[str | None] = []

    async def image(request: Request) -> Response:
        seen_auth.append(request.headers.get("authorization"))
        kind = request.path_params["kind"]
        if kind == "png":
            return Response(PNG, media_type="image/png")
        if kind == "jpeg-octet":
            return Response(JPEG, media_type="application/octet-stream")
        if kind == "webp":
            return Response(WEBP, media_type="image/webp")
        if kind == "html-as-png":
            return Response(b"<html>login</html>" * 10, media_type="image/png")
        if kind == "json":
            return Response(b'{"ok": true}', media_type="application/json")
        if kind == "stream":

            async def chunks() -> AsyncIterator[bytes]:
                yield PNG
                for _ in range(16):
                    yield b"\x00" * 65536

            return StreamingResponse(chunks(), media_type="image/png")
        if kind == "stall":
            await asyncio.sleep(60)
        if kind.startswith("to-"):
            targets = {
                "to-cdn": "http://cdn.test/img/png",
                "to-relative": "/img/webp",
                "to-file": "file:///etc/passwd",
                "to-javascript": "javascript:alert(1)",
                "to-self": "/img/to-self",
            }
            return RedirectResponse(targets[kind], status_code=302)
        return Response(b"nope", 404, media_type="text/plain")

    app = Starlette(routes=[Route("/img/{kind}", image)])
    app.state.seen_auth = seen_auth
    return app


@pytest.fixture
async def scripted(tmp_path: Path) -> AsyncIterator[tuple[ImageFetcher, Starlette]]:
    app = scripted_app()
    transport = httpx.ASGITransport(app=app)
    async with ImageFetcher(tmp_path / "scripted-cache", transport=transport, timeout=5) as f:
        yield f, app


# ------------------------------------------------------------------------ the token stays


async def test_image_host_never_sees_authorization(sim: SimServer, fetcher: ImageFetcher) -> None:
    task = finished_task(sim)
    url = task.image_urls[0]
    assert urlsplit(url).netloc != urlsplit(sim.base_url).netloc  # really a second host

    image = await fetcher.fetch(url)

    assert image.kind.ext == "png"
    assert image.data == served_png(sim, url)
    assert requests_for(sim, url) == [False]
    assert not any(r.had_auth for r in sim.state.image_requests())


async def test_redirect_to_another_host_is_followed_without_auth(
    scripted: tuple[ImageFetcher, Starlette],
) -> None:
    fetcher, app = scripted
    image = await fetcher.fetch("http://api.test/img/to-cdn")
    assert image.kind.ext == "png"
    assert fetcher.request_count == 2
    assert app.state.seen_auth == [None, None]


async def test_relative_redirect_is_followed(scripted: tuple[ImageFetcher, Starlette]) -> None:
    fetcher, _ = scripted
    image = await fetcher.fetch("http://cdn.test/img/to-relative")
    assert image.kind.ext == "webp"


@pytest.mark.parametrize(
    ("kind", "why"),
    [
        ("to-file", "which is refused: only http and https .* not file:"),
        ("to-javascript", "not a valid http"),
    ],
)
async def test_redirect_to_other_schemes_is_refused(
    scripted: tuple[ImageFetcher, Starlette], kind: str, why: str
) -> None:
    fetcher, _ = scripted
    with pytest.raises(MediaError, match=f"redirected .*{why}"):
        await fetcher.fetch(f"http://cdn.test/img/{kind}")
    assert fetcher.request_count == 1  # the refused location was never requested


async def test_redirect_loop_stops(scripted: tuple[ImageFetcher, Starlette]) -> None:
    fetcher, _ = scripted
    with pytest.raises(MediaError, match="Too many redirects"):
        await fetcher.fetch("http://cdn.test/img/to-self")
    assert fetcher.request_count == fetcher.max_redirects + 1


# ----------------------------------------------------------------- limits and content checks


async def test_size_limit_from_content_length(sim: SimServer, tmp_path: Path) -> None:
    task = finished_task(sim)
    url = task.image_urls[0]
    async with ImageFetcher(tmp_path / "c", max_bytes=100) as small:
        with pytest.raises(MediaError, match=r"too large .*the limit is 100 bytes"):
            await small.fetch(url)
    assert not list((tmp_path / "c").glob("*.png"))


async def test_size_limit_aborts_a_stream_without_length(tmp_path: Path) -> None:
    transport = httpx.ASGITransport(app=scripted_app())
    seen: list[tuple[int, int | None]] = []
    async with ImageFetcher(tmp_path / "c", max_bytes=100_000, transport=transport) as f:
        with pytest.raises(MediaError, match=r"more than 98 KB.*download stopped"):
            await f.fetch("http://cdn.test/img/stream", progress=lambda d, t: seen.append((d, t)))
    assert seen and all(total is None for _, total in seen)
    assert max(done for done, _ in seen) <= 100_000


async def test_non_image_content_type_is_refused(sim: SimServer, fetcher: ImageFetcher) -> None:
    with pytest.raises(MediaError, match=r"is not an image \(the host sent application/json\)"):
        await fetcher.fetch(f"{sim.base_url}/_sim/requests")


async def test_bytes_that_are_not_an_image_are_refused(
    scripted: tuple[ImageFetcher, Starlette],
) -> None:
    fetcher, _ = scripted
    with pytest.raises(MediaError, match="not a PNG, JPEG or WebP image"):
        await fetcher.fetch("http://cdn.test/img/html-as-png")
    assert fetcher.cache is not None
    assert fetcher.cache.entries() == []


async def test_magic_bytes_decide_the_type(scripted: tuple[ImageFetcher, Starlette]) -> None:
    fetcher, _ = scripted
    image = await fetcher.fetch("http://cdn.test/img/jpeg-octet")
    assert image.kind.ext == "jpg"
    assert image.path is not None and image.path.suffix == ".jpg"


async def test_http_error_is_explained(sim: SimServer, fetcher: ImageFetcher) -> None:
    with pytest.raises(MediaError, match=r"not there any more \(HTTP 404\)"):
        await fetcher.fetch(f"{sim.image_base_url}/no-such/thing.png")


async def test_overall_timeout(tmp_path: Path) -> None:
    transport = httpx.ASGITransport(app=scripted_app())
    async with ImageFetcher(tmp_path / "c", timeout=0.2, transport=transport) as f:
        with pytest.raises(MediaError, match=r"took longer than 0.2 s"):
            await f.fetch("http://cdn.test/img/stall")


async def test_connection_refused_is_explained(fetcher: ImageFetcher) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(MediaError, match=r"cannot reach 127\.0\.0\.1"):
        await fetcher.fetch(f"http://127.0.0.1:{port}/a.png")


# ---------------------------------------------------------------------------------- cache


async def test_cache_hit_avoids_a_second_request(sim: SimServer, tmp_path: Path) -> None:
    url = finished_task(sim).image_urls[0]
    async with ImageFetcher(tmp_path / "cache") as first:
        a = await first.fetch(url)
        b = await first.fetch(url)
    async with ImageFetcher(tmp_path / "cache") as second:  # the cache outlives the process
        c = await second.fetch(url)
        assert second.request_count == 0
    assert not a.from_cache and b.from_cache and c.from_cache
    assert a.data == b.data == c.data
    assert requests_for(sim, url) == [False]
    assert a.path is not None and a.path.parent == tmp_path / "cache"
    assert a.path.name == f"{ImageCache.key(url)}.png"


async def test_concurrent_fetches_of_one_url_download_once(
    sim: SimServer, fetcher: ImageFetcher
) -> None:
    url = finished_task(sim).image_urls[0]
    results = await asyncio.gather(*(fetcher.fetch(url) for _ in range(3)))
    assert len({r.data for r in results}) == 1
    assert requests_for(sim, url) == [False]


async def test_cache_is_bounded_least_recently_used_first(sim: SimServer, tmp_path: Path) -> None:
    urls = finished_task(sim, count=3).image_urls
    sizes = [len(served_png(sim, url)) for url in urls]
    limit = int(max(sizes) * 2.5)
    assert sum(sizes) > limit  # room for two, never three
    async with ImageFetcher(tmp_path / "c", cache_max_bytes=limit) as f:
        assert f.cache is not None
        first = await f.fetch(urls[0])
        second = await f.fetch(urls[1])
        assert first.path and second.path
        os.utime(first.path, (1000, 1000))  # least recently used
        os.utime(second.path, (2000, 2000))
        f.cache.get(urls[0])  # a hit makes the first one recent again
        assert first.path.stat().st_mtime > 2000

        third = await f.fetch(urls[2])

        remaining = {path for path, _ in f.cache.entries()}
        assert remaining == {first.path, third.path}
        assert f.cache.total_bytes() <= f.cache.max_bytes
        again = await f.fetch(urls[1])  # evicted, so downloaded again
        assert not again.from_cache
    assert requests_for(sim, urls[1]) == [False, False]


async def test_damaged_cache_file_is_replaced(sim: SimServer, fetcher: ImageFetcher) -> None:
    url = finished_task(sim).image_urls[0]
    image = await fetcher.fetch(url)
    assert image.path is not None
    image.path.write_bytes(b"garbage")
    again = await fetcher.fetch(url)
    assert not again.from_cache and again.data == image.data
    assert image.path.read_bytes() == image.data


def test_image_too_big_for_the_cache_is_not_cached(tmp_path: Path) -> None:
    cache = ImageCache(tmp_path / "c", max_bytes=10)
    assert cache.put("https://x.test/a.png", PNG, media.IMAGE_TYPES["png"]) is None
    assert cache.entries() == []


def test_stale_temp_files_are_cleaned(tmp_path: Path) -> None:
    cache = ImageCache(tmp_path, max_bytes=1000)
    stale = tmp_path / ".nbtui-dead.part"
    stale.write_bytes(b"x")
    os.utime(stale, (1000, 1000))
    fresh = tmp_path / ".nbtui-live.part"
    fresh.write_bytes(b"x")
    cache.evict()
    assert not stale.exists() and fresh.exists()


@pytest.mark.parametrize(
    ("data", "ext"), [(PNG, "png"), (JPEG, "jpg"), (WEBP, "webp"), (b"GIF89a....", None)]
)
def test_sniff_image_type(data: bytes, ext: str | None) -> None:
    kind = sniff_image_type(data)
    assert (kind.ext if kind else None) == ext


# ---------------------------------------------------------------------------------- URLs


@pytest.mark.parametrize(
    "url",
    [
        "https://platform.cdn.acedata.cloud/nanobanana/7e7b.png",
        "http://127.0.0.1:8000/images/a.png",
        "HTTP://EXAMPLE.COM/A.PNG",
        "HtTpS://example.com",
        "  https://example.com/padded  ",
        "https://[::1]:8443/x.png",
    ],
)
def test_http_urls_are_openable(url: str) -> None:
    assert is_openable_url(url)
    assert check_image_url(url) == url.strip()


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("file:///etc/passwd", "not file:"),
        ("javascript:alert(1)", "not javascript:"),
        ("JavaScript:alert(1)", "not javascript:"),
        ("data:image/png;base64,iVBORw0KGgo=", "not data:"),
        ("ftp://example.com/a.png", "not ftp:"),
        ("vbscript:msgbox", "not vbscript:"),
        ("//example.com/a.png", "no scheme"),
        ("example.com/a.png", "no scheme"),
        ("", "empty"),
        ("https://", "no host"),
        ("http:///a.png", "no host"),
        ("https://user:pw@example.com/a.png", "user name or password"),
        ("https://example.com@evil.test/a.png", "user name or password"),
        ("https://exa mple.com/a.png", "spaces or control"),
        ("https://example.com/\x1b]0;x\x07", "spaces or control"),
        ("https://example.com:99999/a.png", "not a valid URL"),
    ],
)
def test_other_urls_are_refused(url: str, why: str) -> None:
    assert not is_openable_url(url)
    with pytest.raises(MediaError, match=why) as info:
        check_image_url(url)
    assert "\x1b" not in str(info.value)


async def test_fetch_refuses_before_any_request(fetcher: ImageFetcher) -> None:
    for url in ("file:///etc/passwd", "javascript:alert(1)", "data:image/png;base64,AAAA"):
        with pytest.raises(MediaError, match="only http and https"):
            await fetcher.fetch(url)
    assert fetcher.request_count == 0


def test_open_in_browser(monkeypatch: pytest.MonkeyPatch) -> None:
    opened: list[tuple[str, int]] = []

    def fake_open(url: str, new: int = 0, autoraise: bool = True) -> bool:
        opened.append((url, new))
        return True

    monkeypatch.setattr(webbrowser, "open", fake_open)
    assert not open_in_browser("file:///etc/passwd")
    assert not open_in_browser("javascript:alert(1)")
    assert opened == []
    assert open_in_browser(" https://example.com/a.png ")
    assert opened == [("https://example.com/a.png", 2)]


@pytest.mark.parametrize("outcome", ["false", "raises"])
def test_open_in_browser_without_a_browser(monkeypatch: pytest.MonkeyPatch, outcome: str) -> None:
    def fake_open(url: str, new: int = 0, autoraise: bool = True) -> bool:
        if outcome == "raises":
            raise webbrowser.Error("could not locate runnable browser")
        return False

    monkeypatch.setattr(webbrowser, "open", fake_open)
    assert open_in_browser("https://example.com") is False


# ----------------------------------------------------------------------------------- save


async def test_save_names_files_by_task_and_index(
    sim: SimServer, fetcher: ImageFetcher, tmp_path: Path
) -> None:
    task = finished_task(sim, count=2)
    folder = tmp_path / "out" / "nested"
    calls: list[tuple[int, int | None]] = []

    paths = await save_images(
        task, folder, fetcher=fetcher, progress=lambda d, t: calls.append((d, t))
    )

    assert [p.name for p in paths] == [f"{task.id}-1.png", f"{task.id}-2.png"]
    assert all(p.parent == folder for p in paths)
    for path, url in zip(paths, task.image_urls, strict=True):
        assert sniff_image_type(path.read_bytes()) is not None
        assert requests_for(sim, url) == [False]
    total = sum(p.stat().st_size for p in paths)
    assert calls[-1] == (total, total)
    assert all(d <= total for d, _ in calls)
    assert not list(folder.glob(".nbtui-*"))  # no temp files left


async def test_saving_twice_reuses_the_identical_file(
    sim: SimServer, fetcher: ImageFetcher, tmp_path: Path
) -> None:
    task = finished_task(sim)
    first = await save_images(task, tmp_path, fetcher=fetcher)
    second = await save_images(task, tmp_path, fetcher=fetcher)
    assert first == second
    assert len(list(tmp_path.glob(f"{task.id}-*"))) == 1


async def test_save_never_overwrites_a_different_file(
    sim: SimServer, fetcher: ImageFetcher, tmp_path: Path
) -> None:
    task = finished_task(sim)
    mine = tmp_path / f"{task.id}-1.png"
    mine.write_bytes(b"my own picture")
    (tmp_path / f"{task.id}-1_2.png").write_bytes(b"another one")

    [path] = await save_images(task, tmp_path, fetcher=fetcher)

    assert path.name == f"{task.id}-1_3.png"
    assert mine.read_bytes() == b"my own picture"
    assert sniff_image_type(path.read_bytes()) is not None


async def test_save_keeps_the_real_extension(
    scripted: tuple[ImageFetcher, Starlette], tmp_path: Path
) -> None:
    fetcher, _ = scripted
    task = task_with_urls("abc", ["http://cdn.test/img/jpeg-octet", "http://cdn.test/img/webp"])
    paths = await save_images(task, tmp_path, fetcher=fetcher)
    assert [p.name for p in paths] == ["abc-1.jpg", "abc-2.webp"]


async def test_partial_failure_saves_the_rest(
    scripted: tuple[ImageFetcher, Starlette], tmp_path: Path
) -> None:
    fetcher, _ = scripted
    task = task_with_urls("abc", ["http://cdn.test/img/png", "javascript:alert(1)"])
    with pytest.raises(SaveError, match=r"Saved 1 of 2 images\. image 2: Refusing") as info:
        await save_images(task, tmp_path, fetcher=fetcher)
    assert [p.name for p in info.value.saved] == ["abc-1.png"]
    assert (tmp_path / "abc-1.png").exists()


async def test_hostile_task_id_cannot_escape_the_folder(
    scripted: tuple[ImageFetcher, Starlette], tmp_path: Path
) -> None:
    fetcher, _ = scripted
    folder = tmp_path / "out"
    task = task_with_urls("../../etc/x\x1b]0;t\x07", ["http://cdn.test/img/png"])
    [path] = await save_images(task, folder, fetcher=fetcher)
    assert path.parent == folder
    assert path.name == "etc_x-1.png"


async def test_task_without_images(fetcher: ImageFetcher, tmp_path: Path) -> None:
    task = Task.from_raw({"id": "abc", "request": {}, "response": {"success": False}})
    with pytest.raises(MediaError, match="has no result image"):
        await save_images(task, tmp_path, fetcher=fetcher)


async def test_save_into_a_file_path(
    scripted: tuple[ImageFetcher, Starlette], tmp_path: Path
) -> None:
    fetcher, _ = scripted
    blocker = tmp_path / "file"
    blocker.write_text("x")
    task = task_with_urls("abc", ["http://cdn.test/img/png"])
    with pytest.raises(MediaError, match="is a file, not a folder"):
        await save_images(task, blocker / "sub", fetcher=fetcher)


@pytest.mark.skipif(
    not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root ignores permissions"
)
async def test_save_into_a_read_only_folder(
    scripted: tuple[ImageFetcher, Starlette], tmp_path: Path
) -> None:
    fetcher, _ = scripted
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        task = task_with_urls("abc", ["http://cdn.test/img/png"])
        with pytest.raises(MediaError, match="Permission denied: cannot write to"):
            await save_images(task, folder, fetcher=fetcher)
    finally:
        folder.chmod(0o700)


@pytest.mark.parametrize(
    ("error", "message"),
    [
        (OSError(errno.ENOSPC, "No space left on device"), "Not enough disk space"),
        (PermissionError(errno.EACCES, "Permission denied"), "Permission denied: cannot write"),
        (OSError(errno.EPERM, "Operation not permitted"), "Permission denied: cannot write"),
        (OSError(errno.EROFS, "Read-only file system"), "file system is read-only"),
        (OSError(errno.EIO, "Input/output error"), "Input/output error"),
    ],
)
def test_disk_errors_become_clear_messages(error: OSError, message: str, tmp_path: Path) -> None:
    assert message in media_save._os_problem(error, tmp_path)


def test_default_save_dir(tmp_path: Path) -> None:
    chosen = tmp_path / "chosen"
    assert default_save_dir(Settings(save_dir=chosen)) == chosen
    pictures = Path(platformdirs.user_pictures_dir())
    downloads = Path(platformdirs.user_downloads_dir())
    assert not pictures.exists()  # the isolated HOME has neither
    assert default_save_dir(Settings()) == pictures / "nbtui"
    downloads.mkdir(parents=True)
    assert default_save_dir(Settings()) == downloads / "nbtui"
    pictures.mkdir(parents=True)
    assert default_save_dir(Settings()) == pictures / "nbtui"


def test_fetcher_from_settings_uses_the_cache_dir(tmp_path: Path) -> None:
    settings = Settings(cache_dir=tmp_path / "cache", timeout=7)
    fetcher = ImageFetcher.from_settings(settings)
    assert fetcher.cache is not None
    assert fetcher.cache.root == tmp_path / "cache" / "images"
    assert fetcher.timeout == 7
    assert "authorization" not in fetcher._client.headers
    asyncio.run(fetcher.aclose())


async def test_every_client_shares_one_tls_context() -> None:
    """Each preview makes an image client: building a TLS context for each parsed the whole
    CA bundle again (~25 ms with the UI loop waiting). They, and the API's, use one."""
    from nbtui.api.client import NanoBananaClient
    from nbtui.api.transport import tls_context

    def context_of(client: httpx.AsyncClient) -> object:
        return client._transport._pool._ssl_context  # type: ignore[attr-defined]

    fetchers = [ImageFetcher(None), ImageFetcher(None)]
    api = NanoBananaClient.from_settings(Settings(), "a-token")
    try:
        contexts = [context_of(f._client) for f in fetchers] + [context_of(api._http)]
        assert all(context is tls_context() for context in contexts)
    finally:
        for fetcher in fetchers:
            await fetcher.aclose()
        await api.aclose()
