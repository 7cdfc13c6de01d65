"""Reading a task's record back into a create request (re-run, edit from a result)."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from nbtui.create import (
    ASPECT_RATIOS,
    MAX_PREFILL_PROMPT,
    MODELS,
    RESOLUTIONS,
    CreateRequest,
    edit_request,
    rerun_request,
)
from nbtui.textsafe import safe_text
from tests.helpers import examples

FULL = {
    "id": "4d320ead-4af4-4a55-8f3e-f2afebdf4fd0",
    "request": {
        "action": "edit",
        "prompt": "a white siamese cat",
        "model": "nano-banana-pro",
        "count": 3,
        "aspect_ratio": "9:16",
        "resolution": "4K",
        "image_urls": ["https://example.com/a.png"],
        "async": True,
    },
}


def test_every_field_of_a_request_is_copied() -> None:
    prefill = rerun_request(FULL)
    assert prefill is not None and prefill.notes == ()
    assert prefill.request == CreateRequest(
        prompt="a white siamese cat",
        action="edit",
        model="nano-banana-pro",
        count=3,
        aspect_ratio="9:16",
        resolution="4K",
        sources=("https://example.com/a.png",),
    )
    assert prefill.request.problems() == {}


def test_nothing_to_rerun() -> None:
    assert rerun_request(None) is None
    assert rerun_request({"id": "x"}) is None
    assert rerun_request({"id": "x", "request": "text"}) is None
    assert rerun_request({"id": "x", "request": {}}) is None


def test_a_record_without_a_request_gives_its_images_prompt() -> None:
    record = {
        "id": "x",
        "response": {"success": True, "data": [{"prompt": "from the image", "image_url": "u"}]},
    }
    prefill = rerun_request(record)
    assert prefill is not None
    assert prefill.request == CreateRequest(prompt="from the image")
    assert prefill.notes == (
        "The record does not say how the task was made: only its prompt was copied.",
    )


def test_lenient_spellings_are_understood() -> None:
    record = {"request": {"prompt": "p", "count": "2", "resolution": "2k", "image_urls": None}}
    prefill = rerun_request(record)
    assert prefill is not None and prefill.notes == ()
    assert (prefill.request.count, prefill.request.resolution) == (2, "2K")
    # A single URL where a list belongs, and no action: an edit of that one source.
    prefill = rerun_request({"request": {"prompt": "p", "image_urls": "https://e.com/a.png"}})
    assert prefill is not None
    assert prefill.request.action == "edit"
    assert prefill.request.sources == ("https://e.com/a.png",)


def test_an_edit_whose_sources_cannot_be_copied_says_to_add_one() -> None:
    record = {"request": {"action": "edit", "prompt": "p", "image_urls": ["data:image/png,xx"]}}
    prefill = rerun_request(record)
    assert prefill is not None and prefill.request.sources == ()
    assert any("embedded file" in note for note in prefill.notes)
    assert any("add one before creating" in note for note in prefill.notes)
    assert "sources" in prefill.request.problems()  # the form will not send it as it is


def test_a_huge_prompt_is_cut_with_a_note() -> None:
    prefill = rerun_request({"request": {"prompt": "x" * (MAX_PREFILL_PROMPT + 5)}})
    assert prefill is not None and len(prefill.request.prompt) == MAX_PREFILL_PROMPT
    assert prefill.notes == (
        f"The prompt is {MAX_PREFILL_PROMPT + 5:,} characters; the first "
        f"{MAX_PREFILL_PROMPT:,} were copied.",
    )


def test_a_generate_rerun_drops_its_sources() -> None:
    record = {"request": {"action": "generate", "prompt": "p", "image_urls": ["https://e.com/a"]}}
    prefill = rerun_request(record)
    assert prefill is not None and prefill.request.sources == ()
    assert prefill.request.problems() == {}


def test_edit_from_a_result() -> None:
    prefill = edit_request(FULL, "https://cdn.example.com/result-2.png")
    assert prefill.notes == ()
    assert prefill.request == CreateRequest(
        prompt="a white siamese cat",
        action="edit",
        model="nano-banana-pro",
        aspect_ratio="9:16",
        resolution="4K",
        sources=("https://cdn.example.com/result-2.png",),
    )
    # Only the notes about what it copies: the old sources and count do not matter here.
    odd = {"request": {"prompt": "p", "count": 99, "image_urls": [5], "model": "a b"}}
    prefill = edit_request(odd, "https://cdn.example.com/r.png")
    assert prefill.notes == ("The record's model (a b) is not a model name; the default is used.",)
    assert edit_request(None, "https://e.com/r.png").request.sources == ("https://e.com/r.png",)


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text(max_size=30)
    | st.sampled_from([*MODELS, *ASPECT_RATIOS, *RESOLUTIONS, "edit", "generate", "data:x"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=10,
)
FIELDS = ("action", "prompt", "model", "count", "aspect_ratio", "resolution", "image_urls")


@settings(max_examples=examples(150, 1500), deadline=None)
@given(st.dictionaries(st.sampled_from(FIELDS), JSON), st.one_of(JSON, st.just(None)))
def test_any_request_gives_a_form_or_none_and_never_raises(
    request: dict[str, Any], other: Any
) -> None:
    prefill = rerun_request({"request": request, "response": other})
    if prefill is None:
        return
    problems = prefill.request.problems()
    # Whatever the record held, the form only ever shows values it can send, except a
    # missing prompt or source, which the user is asked for.
    assert set(problems) <= {"prompt", "sources"}
    # Notes quote record values: on one line, with no control character or escape.
    assert all(note == safe_text(note, keep_newlines=False) for note in prefill.notes)
