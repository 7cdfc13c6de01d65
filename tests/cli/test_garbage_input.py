"""`nbtui add -` fed binary garbage: a bounded list of what was refused, and the good ids kept."""

from __future__ import annotations

import os
import random
import subprocess
import sys
from pathlib import Path

from tests.helpers import ROOT

GOOD = "4d320ead-4af4-4a55-8f3e-f2afebdf4fd0"


def test_add_names_the_first_20_bad_ids_and_counts_the_rest(tmp_path: Path) -> None:
    rng = random.Random(11)
    garbage = bytes(rng.getrandbits(8) for _ in range(300_000))
    stdin = garbage + f"\n{GOOD}\n".encode() + garbage
    env = {**os.environ, "NBTUI_DATA_DIR": str(tmp_path / "data")}
    done = subprocess.run(
        [sys.executable, "-m", "nbtui", "add", "-"],
        input=stdin,
        capture_output=True,
        env=env,
        cwd=ROOT,
        timeout=120,
    )
    err = done.stderr.decode("utf-8", "replace").splitlines()
    assert done.returncode == 2
    named = [line for line in err if "not a task id (expected a UUID)" in line]
    assert len(named) == 20
    more = [line for line in err if "more that are not task ids" in line]
    assert len(more) == 1 and "the first 20 shown" in more[0]
    count = int(more[0].split("and ", 1)[1].split(" more", 1)[0].replace(",", ""))
    assert count > 1000
    assert len(err) <= 25  # 20 named, the count, the summary
    assert f"{GOOD}  added" in done.stdout.decode()
