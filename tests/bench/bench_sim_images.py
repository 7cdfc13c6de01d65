"""Simulator pictures: `python -m tests.bench.bench_sim_images` prints how long one 512x512
landscape takes to draw and encode, uncached (not collected by pytest; absolute timings)."""

from __future__ import annotations

import statistics
import time

from nbtui.sim.images import make_scene_png

PROMPTS = (
    "a lighthouse at dawn, oil painting",
    "a neon koi fish in a midnight pond",
    "four seasons of the same maple tree, as a 2x2 grid",
    "a paper boat on a rain puddle, macro",
    "a city skyline made of books",
)


def main() -> None:
    make_scene_png(512, "warm-up")  # Pillow's import and first use are not a picture's cost
    times: list[float] = []
    cpu: list[float] = []
    sizes: list[int] = []
    for round_ in range(8):
        for prompt in PROMPTS:
            start, start_cpu = time.perf_counter(), time.process_time()
            png = make_scene_png(512, prompt, round_)
            cpu.append(time.process_time() - start_cpu)
            times.append(time.perf_counter() - start)
            sizes.append(len(png))
    times.sort()
    # CPU time as well: on a shared machine the wall clock also counts other processes' turns.
    print(f"  pictures drawn              {len(times):8d}")
    print(f"  median                      {statistics.median(times) * 1000:8.1f} ms")
    print(f"  90th percentile             {times[int(len(times) * 0.9)] * 1000:8.1f} ms")
    print(f"  median CPU time             {statistics.median(cpu) * 1000:8.1f} ms")
    print(f"  size (median)               {statistics.median(sizes) / 1024:8.1f} KB")


if __name__ == "__main__":
    main()
