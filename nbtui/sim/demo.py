"""The simulator's stock data: prompts and models for mixed tasks, and the demo's task set."""

from __future__ import annotations

from typing import Any

__all__ = ["ASPECTS", "FAILURE_MESSAGES", "MODELS", "PROMPTS", "demo_specs"]

PROMPTS = (
    "a white siamese cat",
    "a lighthouse on a cliff at dusk, oil painting",
    "isometric pixel art of a tiny ramen shop",
    "a bowl of fruit in the style of a 1970s cookbook photo",
    "macro photo of dew on a spider web",
    "a cozy reading nook with a rainy window",
    "retro travel poster for the moon",
    "a red fox in fresh snow, watercolour",
)
MODELS = ("nano-banana", "nano-banana", "nano-banana-2", "nano-banana-pro", "nano-banana-2-lite")
ASPECTS = ("1:1", "1:1", "3:2", "2:3", "16:9", "9:16", "4:3", "3:4")
FAILURE_MESSAGES = (
    "fetch failed",
    "The upstream model returned no image.",
    "Generation timed out upstream.",
)


def demo_specs() -> list[dict[str, Any]]:
    """About a dozen realistic tasks (`add_task` keywords plus `age`, `run` and `pending`
    seconds), in every state and in a mix of the record shapes the real service serves."""
    long_prompt = (
        "A sweeping panoramic view of a floating archipelago at golden hour: terraced "
        "gardens spill over the edges of each island, waterfalls fall into the clouds "
        "below, tiny airships drift between lantern-lit bridges, and in the foreground an "
        "old cartographer in a patched coat sketches the scene on a drafting table covered "
        "with brass instruments, ink bottles and rolled maps; cinematic lighting, highly "
        "detailed, soft atmospheric haze, 35mm film grain"
    )
    return [
        dict(
            prompt="a white siamese cat sitting on a stack of old books, soft window light",
            outcome="succeeded",
            age=2 * 86400 + 3100,
            run=11.3,
        ),
        dict(
            prompt="a brutalist library interior in morning fog",
            outcome="succeeded",
            age=26 * 3600,
            run=18.0,
            model="nano-banana-2.1:official",
            aspect_ratio="4:3",
            resolution="4K",
        ),
        dict(
            prompt="isometric cutaway of a tiny bakery at dawn, warm colours",
            outcome="succeeded",
            shape="no_success_flag",
            age=3 * 3600,
            run=24.5,
            count=4,
            model="nano-banana-pro",
            aspect_ratio="16:9",
            resolution="2K",
        ),
        dict(
            prompt="a photorealistic street map of a city that does not exist",
            outcome="failed",
            shape="words",
            age=65 * 60,
            run=31.0,
            error_message="fetch failed",
        ),
        dict(
            prompt=long_prompt,
            outcome="succeeded",
            shape="no_times",
            age=40 * 60,
            run=14.2,
            count=2,
            aspect_ratio="3:2",
        ),
        dict(
            prompt="poster text: [bold]SALE[/bold] 50% off [red]today only[/red]",
            outcome="succeeded",
            age=20 * 60,
            run=9.8,
            model="nano-banana-2",
            aspect_ratio="9:16",
        ),
        dict(
            prompt="the same person, but as a graphic-novel villain in a dark alley",
            outcome="moderated",
            age=15 * 60,
            run=4.1,
            action="edit",
            image_urls=["https://example.com/uploads/portrait-4812.jpg"],
        ),
        dict(
            prompt="replace the grey sky with a dramatic sunset",
            outcome="succeeded",
            age=10 * 60,
            run=12.6,
            action="edit",
            image_urls=["https://example.com/photos/beach-0192.jpg"],
        ),
        dict(
            prompt="watercolour red fox in fresh snow",
            outcome="succeeded",
            shape="progress",
            age=6.0,
            run=5.0 + 12.0,
        ),
        dict(
            prompt="combine these two products into one studio shot on white",
            outcome="succeeded",
            shape="accepted",
            age=9.0,
            run=8.0 + 25.0,
            count=2,
            action="edit",
            image_urls=[
                "https://example.com/catalog/mug-blue.png",
                "https://example.com/catalog/teapot-white.png",
            ],
            aspect_ratio="3:2",
        ),
        dict(
            prompt="a lighthouse made entirely of glass, stormy sea",
            outcome="failed",
            shape="words",
            word_key="state",
            age=4.0,
            run=3.0 + 35.0,
            model="nano-banana-2-lite",
            error_message="Generation timed out upstream.",
        ),
        dict(
            prompt="four seasons of the same maple tree, as a 2x2 grid",
            outcome="succeeded",
            age=0.0,
            pending=8.0,
            run=28.0,
            count=4,
            delivered=3,
        ),
    ]
