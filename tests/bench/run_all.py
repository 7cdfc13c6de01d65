"""Run every benchmark: `python -m tests.bench [--quick]` (or `python -m tests.bench.run_all`).

Each prints its table and writes `.bench-results/<name>.json`; this prints a summary at the
end and writes `.bench-results/summary.json`. `--quick`: fewer sizes and repeats (~2 min).
"""

from __future__ import annotations

import json
import time
import traceback
from typing import Any

from tests.bench import (
    bench_apply,
    bench_big_record,
    bench_filter,
    bench_finish,
    bench_gallery,
    bench_imports,
    bench_keys,
    bench_launch,
    bench_memory,
    bench_requests,
)
from tests.bench._common import RESULTS_DIR, quick

BENCHES = (
    bench_imports,
    bench_requests,
    bench_apply,
    bench_filter,
    bench_launch,
    bench_keys,
    bench_memory,
    bench_finish,
    bench_big_record,
    bench_gallery,
)


def main() -> int:
    started = time.perf_counter()
    documents: list[dict[str, Any]] = []
    failed = 0
    for bench in BENCHES:
        try:
            documents.append(bench.run())
        except Exception:
            failed += 1
            traceback.print_exc()
    print(f"\n{'quick ' if quick() else ''}run took {time.perf_counter() - started:.0f} s")
    missed = [
        f"{doc['bench']}: {row['case']}"
        for doc in documents
        for row in doc["rows"]
        if row["met"] is False
    ]
    print("targets missed: " + ("; ".join(missed) if missed else "none"))
    RESULTS_DIR.mkdir(exist_ok=True)
    (RESULTS_DIR / "summary.json").write_text(json.dumps(documents, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
