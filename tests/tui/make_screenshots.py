"""Regenerate `screenshots/` (SVG and PNG) from the same scenes as the snapshot tests.

    .venv/bin/python -m tests.tui.make_screenshots

PNGs are rendered with cairosvg using DejaVu Sans Mono (Debian: `fonts-dejavu-core`), a
monospace font that has the state symbols, so the columns line up as in a terminal.
Uses a throwaway data dir and an in-memory
keyring, never the real ones.
"""

from __future__ import annotations

import asyncio
import os
import tempfile
import time
from pathlib import Path

import keyring

from tests.keyrings.memory import MemoryKeyring

from .scenes import SCENES, make_scene_app

OUT = Path(__file__).resolve().parents[2] / "screenshots"
SHOTS = {
    "main": "main",
    "detail_tree": "detail-json",
    "add_dialog": "add-dialog",
    "token": "token",
    "help": "help",
    "create_form": "create-form",
    "create_errors": "create-form-errors",
    "preview": "preview",
    "light_theme": "light-theme",
    "gallery": "gallery",
    "marked": "marks-labels",
    "rerun_form": "rerun-form",
    "narrow": "narrow-80x24",
}


async def shoot(scene_name: str, file_stem: str, workdir: Path) -> Path:
    scene = SCENES[scene_name]
    app, harness = make_scene_app(scene, workdir / scene_name)
    try:
        async with app.run_test(size=scene.size) as pilot:
            await scene.run_before(pilot)
            svg = app.export_screenshot(title="nbtui")
    finally:
        harness.store.close()
    path = OUT / f"{file_stem}.svg"
    path.write_text(svg, encoding="utf-8")
    return path


def main() -> None:
    import cairosvg

    os.environ.pop("ACEDATACLOUD_API_TOKEN", None)
    os.environ["TZ"] = "UTC"
    time.tzset()
    keyring.set_keyring(MemoryKeyring())
    OUT.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="nbtui-shots-") as tmp:
        for scene_name, stem in SHOTS.items():
            svg = asyncio.run(shoot(scene_name, stem, Path(tmp)))
            png = svg.with_suffix(".png")
            # cairosvg does not fall back glyph by glyph: use a monospace font that has the
            # state symbols (◌ ◐ ✔ ✘) for the PNG; the SVG keeps Textual's font stack.
            text = svg.read_text(encoding="utf-8").replace("Fira Code", "DejaVu Sans Mono")
            cairosvg.svg2png(bytestring=text.encode(), write_to=str(png), output_width=1600)
            print(f"wrote {svg.relative_to(OUT.parent)} and {png.name}")


if __name__ == "__main__":
    main()
