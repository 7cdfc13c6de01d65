"""Records no parser or formatter expects: one of them never spoils its batch (issue 11 §2).

The answers are written as text, because Python's `json.dumps` cannot write most of them: it
writes `NaN`/`Infinity` only as extensions and stops near 1,000 levels of nesting.
"""

from __future__ import annotations

import json
import math
import uuid
from collections.abc import Callable
from typing import Any

import pytest

from nbtui.api.client import MAX_RECORD_DEPTH, NanoBananaClient
from nbtui.api.errors import ProtocolError
from nbtui.api.state import TaskState

from .conftest import Scripted

Build = Callable[..., NanoBananaClient]


def record(task_id: str, **extra: Any) -> str:
    base = {"id": task_id, "created_at": 1_700_000_000.0, "response": {"success": True}}
    return json.dumps({**base, **extra})


def deep(levels: int) -> str:
    return "[" * levels + "]" * levels


def body(*items: str) -> bytes:
    return ('{"items": [' + ", ".join(items) + f'], "count": {len(items)}}}').encode()


def ids(n: int) -> list[str]:
    return [str(uuid.uuid4()) for _ in range(n)]


async def test_a_record_nested_5000_levels_deep_is_isolated(
    script: Scripted, scripted_client: Build
) -> None:
    a, b, c = ids(3)
    hostile = f'{{"id": "{b}", "request": {{"prompt": {deep(5000)}}}}}'
    script.add(200, raw=body(record(a), hostile, record(c)))
    result = await scripted_client().retrieve_batch([a, b, c])
    assert set(result.tasks) == {a, c}
    assert all(task.raw is not None for task in result.tasks.values())
    [(lost, error)] = result.errors.items()
    assert lost == b and isinstance(error, ProtocolError)
    assert "Unreadable answer" in str(error) and "nested too deeply" in str(error)
    assert len(script.seen) == 1  # the good records were taken, not retried


async def test_an_unreadable_record_without_a_findable_id_marks_the_rest_unknown(
    script: Scripted, scripted_client: Build
) -> None:
    a, b, c = ids(3)
    script.add(200, raw=body(record(a), deep(5000), record(c)))
    result = await scripted_client().retrieve_batch([a, b, c])
    assert set(result.tasks) == {a, c}
    assert set(result.errors) == {b}  # never "not found": its state is unknown
    assert "without a task id" in str(result.errors[b])


async def test_a_syntax_error_inside_one_record_spares_the_others(
    script: Scripted, scripted_client: Build
) -> None:
    a, b = ids(2)
    broken = f'{{"id": "{b}", "count": 1{"0" * 5000}}}'  # an int past Python's digit limit
    script.add(200, raw=body(broken, record(a)))
    result = await scripted_client().retrieve_batch([a, b])
    assert set(result.tasks) == {a} and set(result.errors) == {b}
    assert "not valid JSON" in str(result.errors[b])


async def test_a_parseable_but_absurdly_deep_record_is_unreadable(
    script: Scripted, scripted_client: Build
) -> None:
    a, b = ids(2)
    hostile = f'{{"id": "{b}", "x": {deep(MAX_RECORD_DEPTH + 5)}}}'
    script.add(200, raw=body(record(a), hostile))
    result = await scripted_client().retrieve_batch([a, b])
    assert set(result.tasks) == {a} and set(result.errors) == {b}
    assert f"more than {MAX_RECORD_DEPTH} levels" in str(result.errors[b])


async def test_non_finite_numbers_are_read_as_null(
    script: Scripted, scripted_client: Build
) -> None:
    a, b = ids(2)
    text = (
        f'{{"id": "{a}", "started_at": NaN, "finished_at": Infinity, "created_at": -Infinity,'
        f' "elapsed": 1e400, "request": {{"prompt": "x", "count": -1e999}}}}'
    )
    script.add(200, raw=body(text, record(b)))
    result = await scripted_client().retrieve_batch([a, b])
    raw = result.tasks[a].raw
    assert raw is not None
    assert raw["started_at"] is None and raw["finished_at"] is None
    assert raw["created_at"] is None and raw["elapsed"] is None
    assert raw["request"]["count"] is None
    assert result.tasks[b].state is not TaskState.NOT_FOUND


async def test_a_body_that_is_not_an_items_object_still_fails_as_a_whole(
    script: Scripted, scripted_client: Build
) -> None:
    (a,) = ids(1)
    script.add(200, raw=b'{"items": [' + deep(5000).encode())  # cut off: no structure to trust
    result = await scripted_client(max_attempts=1).retrieve_batch([a])
    assert set(result.errors) == {a}
    assert "not valid JSON" in str(result.errors[a])


async def test_a_single_retrieve_of_a_too_deep_record_says_so(
    script: Scripted, scripted_client: Build
) -> None:
    (a,) = ids(1)
    script.add(200, raw=f'{{"id": "{a}", "x": {deep(MAX_RECORD_DEPTH + 5)}}}'.encode())
    with pytest.raises(ProtocolError, match="Unreadable answer"):
        await scripted_client().retrieve(a)
    assert len(script.seen) == 1


@pytest.mark.parametrize(
    "text",
    [
        '{"items": [{"id": "a,b]}", "x": "[{,"}, {"id": "q"}]}',
        '{"other": [1, [2]], "items": [ {"id": "a"} , [] , "s" , 1 ], "count": 4}',
        '{"items": []}',
    ],
)
def test_the_splitter_agrees_with_json_on_valid_documents(text: str) -> None:
    from nbtui.api.answers import split_items

    parts = split_items(text.encode())
    assert parts is not None
    assert [json.loads(part) for part in parts] == json.loads(text)["items"]


@pytest.mark.parametrize(
    "text", ['{"items": [1, 2}', "[1, 2]", '{"items": [1]} trailing', '{"x": 1}{"items": []}']
)
def test_the_splitter_refuses_what_is_not_an_items_object(text: str) -> None:
    from nbtui.api.answers import split_items

    assert split_items(text.encode()) is None


def test_nan_never_survives_parsing() -> None:
    from nbtui.api.answers import loads

    value = loads(b"[NaN, Infinity, -Infinity, 1e999, 1.5]")
    assert value[:4] == [None] * 4 and math.isclose(value[4], 1.5)
