"""How each screen looks (pytest-textual-snapshot), with a frozen clock and no cursor blink.

Update after an intended change with `pytest tests/tui/test_snapshots.py --snapshot-update`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from .scenes import SCENES, make_scene_app


@pytest.mark.parametrize("name", list(SCENES))
def test_screen(
    name: str, snap_compare: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TZ", "UTC")
    import time

    time.tzset()
    scene = SCENES[name]
    app, harness = make_scene_app(scene, tmp_path / "data")
    try:
        assert snap_compare(app, terminal_size=scene.size, run_before=scene.run_before)
    finally:
        harness.store.close()
