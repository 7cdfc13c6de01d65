"""The filter language: every operator and error message, and the SQL it compiles to against
a plain Python reading of the same rules over generated tasks."""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nbtui.api.state import TaskState
from nbtui.textsafe import one_line
from nbtui.tracking.query import FIELDS, Query, QueryError, Term, compile_query, parse
from nbtui.tracking.rows import task_row
from nbtui.tracking.store import Store
from nbtui.tui.tasklist_model import ListView, compute_order
from tests.helpers import examples

NOW = 1_800_000_000.0


# -- parsing ---------------------------------------------------------------------------------


def only(text: str) -> Term:
    query = parse(text)
    assert len(query.terms) == 1, query
    return query.terms[0]


def test_free_words_are_lowercased_and_all_required() -> None:
    query = parse("  Cat   WHITE ")
    assert [(t.field, t.value, t.negate) for t in query.terms] == [
        (None, "cat", False),
        (None, "white", False),
    ]
    assert not parse("   ")
    assert parse("") == Query()


def test_quoted_phrases_keep_their_spaces_and_may_follow_a_field() -> None:
    assert only('"A Red  Fox"') == Term(None, "a red  fox")
    assert only('prompt:"a red fox"') == Term("prompt", "a red fox")
    assert only('-"red fox"') == Term(None, "red fox", negate=True)
    # a colon inside quotes is text, not a field
    assert only('"http://x"') == Term(None, "http://x")
    assert only('"16:9"') == Term(None, "16:9")


def test_a_word_with_a_colon_after_digits_is_text() -> None:
    assert only("16:9") == Term(None, "16:9")


def test_minus_excludes_and_a_lone_minus_is_a_word() -> None:
    assert only("-cat") == Term(None, "cat", negate=True)
    assert only("-state:failed").negate
    assert only("-") == Term(None, "-")


def test_state_by_name_prefix_or_list() -> None:
    assert only("state:failed").states == {TaskState.FAILED}
    assert only("STATE:Fail").states == {TaskState.FAILED}
    assert only("state:not-found").states == {TaskState.NOT_FOUND}
    assert only('state:"not found"').states == {TaskState.NOT_FOUND}
    assert only("state:not_found").states == {TaskState.NOT_FOUND}
    assert only("state:pending,running").states == {TaskState.PENDING, TaskState.RUNNING}
    assert only("state:s").states == {TaskState.SUCCEEDED}


def test_model_prompt_id_label_action_values() -> None:
    assert only("model:PRO") == Term("model", "pro")
    assert only("id:7F3A") == Term("id", "7f3a")
    assert only("label:Client-X") == Term("label", "client-x")
    assert only("action:Edit") == Term("action", "edit")


@pytest.mark.parametrize(
    ("text", "op", "number"),
    [
        ("images:>1", ">", 1),
        ("images:<2", "<", 2),
        ("images:>=3", ">=", 3),
        ("images:<=4", "<=", 4),
        ("images:=0", "=", 0),
        ("images:2", "=", 2),
    ],
)
def test_images_comparisons(text: str, op: str, number: int) -> None:
    term = only(text)
    assert (term.field, term.op, term.number) == ("images", op, number)


@pytest.mark.parametrize(
    ("text", "op", "seconds"),
    [
        ("age:<30s", "<", 30),
        ("age:>5m", ">", 300),
        ("age:<=1h", "<=", 3_600),
        ("age:>=2d", ">=", 172_800),
        ("age:<1w", "<", 604_800),
        ("age:<1.5h", "<", 5_400),
    ],
)
def test_age_comparisons(text: str, op: str, seconds: float) -> None:
    term = only(text)
    assert (term.field, term.op, term.number) == ("age", op, seconds)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "colour:red",
            'unknown field "colour" (fields: state, model, label, action, images, age, '
            'prompt, id; quote text with a colon: "colour:red")',
        ),
        ('cat "red fox', 'unclosed quote: add a " after the words it starts'),
        ('""', 'empty quotes: put the words to look for between the ""'),
        ("state:", "state: needs a value, e.g. state:failed"),
        ("model:", "model: needs a value, e.g. model:pro"),
        ("label:", "label: needs a value, e.g. label:client-x"),
        ("action:", "action: needs a value, e.g. action:edit"),
        ("images:", "images: needs a value, e.g. images:>1"),
        ("age:", "age: needs a value, e.g. age:<1h"),
        ('prompt:""', 'prompt: needs a value, e.g. prompt:"a red fox"'),
        ("id:", "id: needs a value, e.g. id:7f3a"),
        (
            "state:done",
            'state: no state is called "done" (states: pending, running, succeeded, '
            "failed, not found)",
        ),
        ("images:>x", "images: needs a whole number, e.g. images:>1 or images:0"),
        ("images:1.5", "images: needs a whole number, e.g. images:>1 or images:0"),
        ("age:<1", "age: needs a time with a unit (s, m, h, d or w), e.g. age:<1h or age:>2d"),
        ("age:<1y", "age: needs a time with a unit (s, m, h, d or w), e.g. age:<1h or age:>2d"),
        (
            "age:1h",
            "age: needs < or >, e.g. age:<1h (newer than an hour) or age:>2d (older)",
        ),
        ("x" * 1001, "the filter is too long (at most 1000 characters)"),
    ],
)
def test_every_error_says_what_is_wrong(text: str, message: str) -> None:
    with pytest.raises(QueryError) as caught:
        parse(text)
    assert str(caught.value) == message


def test_the_fields_named_in_the_error_are_the_fields_parsed() -> None:
    for field in FIELDS:
        with pytest.raises(QueryError, match=f"^{field}: needs a value"):
            parse(f"{field}:")


# -- SQL against a Python reading of the rules ---------------------------------------------------

#: Text with what makes folding hard: ASCII and other cases, control characters, an escape
#: sequence, LIKE's wildcards, quotes, DEL, a Kelvin sign (lowercases to ASCII k).
HARD = ["É", "é", "\u212a", "İ", "ß", "\n", "\t", "\x1b[31m", "\x7f", "\x00", "猫"]
ALPHABET = st.sampled_from([*"abcKkX fox_%\\\"'-", *HARD])
TEXT = st.lists(ALPHABET, max_size=8).map("".join)
NEEDLES = st.sampled_from(
    ["a", "k", "K", "fox", "x_", "%", "é", "É", "c k", "a b", "\\", "'", "猫", "ab", "31m", "-"]
)
STATES = [state.value for state in TaskState] + ["mystery"]


@st.composite
def tasks(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "state": draw(st.sampled_from(STATES)),
        "prompt": draw(st.none() | TEXT),
        "model": draw(st.none() | TEXT),
        "action": draw(st.none() | st.sampled_from(["generate", "edit", "Edit ", "É"])),
        "labels": draw(st.lists(st.sampled_from(["x", "X", "client-x", "Été", "été", "ss"]))),
        "images": draw(st.integers(0, 3)),
        "created": draw(st.none() | st.sampled_from([NOW - 30, NOW - 3_600, NOW - 90_000])),
    }


def word_terms() -> st.SearchStrategy[str]:
    def quoted(needle: str) -> str:
        return f'"{needle}"' if " " in needle or '"' in needle else needle

    free = NEEDLES.map(quoted)
    fields = st.one_of(
        NEEDLES.map(lambda n: f"model:{quoted(n)}"),
        NEEDLES.map(lambda n: f"prompt:{quoted(n)}"),
        st.sampled_from(["state:failed", "state:p", "state:not-found", "state:run,succ"]),
        st.sampled_from(["label:x", "label:ÉTÉ", "label:client-x", "label:SS", "label:ß"]),
        st.sampled_from(["action:edit", "action:é", "action:generate"]),
        st.sampled_from(["images:>1", "images:0", "images:<=2", "images:>=1", "images:=3"]),
        st.sampled_from(["age:<1m", "age:>1h", "age:<=1h", "age:>=1d"]),
        st.sampled_from(["id:0000", "id:01"]),
    )
    term = free | fields
    return st.tuples(st.booleans(), term).map(lambda pair: ("-" if pair[0] else "") + pair[1])


QUERIES = st.lists(word_terms(), min_size=1, max_size=3).map(" ".join)


def reference(query: Query, row: Any, labels: list[str], action: str | None) -> bool:
    """The rules read plainly: the list row as drawn (search key as the filter always
    built it), labels compared case-folded as the store compares them."""

    def term_ok(term: Term) -> bool:
        value = term.value
        if term.field is None:
            key = f"{row.id}\n{row.prompt.lower()}\n{row.state.label}\n{row.model.lower()}"
            return value in key
        if term.field == "state":
            return row.state in term.states
        if term.field == "model":
            return value in row.model.lower()
        if term.field == "prompt":
            return value in row.prompt.lower()
        if term.field == "id":
            return value in row.id
        if term.field == "label":
            return any(label.casefold() == value.casefold() for label in labels)
        if term.field == "action":
            return (one_line(action).lower() if action else "") == value
        left = float(row.image_count) if term.field == "images" else NOW - row.created_at
        return {
            ">": left > term.number,
            "<": left < term.number,
            ">=": left >= term.number,
            "<=": left <= term.number,
            "=": left == term.number,
        }[term.op]

    return all(term_ok(term) != term.negate for term in query.terms)


def fill(store: Store, drawn: list[dict[str, Any]]) -> None:
    ids = [f"00000000-0000-4000-8000-{n:012d}" for n in range(len(drawn))]
    store.add(ids, now=NOW - 100)
    for task_id, task in zip(ids, drawn, strict=True):
        if task["labels"]:
            store.set_labels([task_id], add=task["labels"], now=NOW)
    conn = sqlite3.connect(store.path)
    with conn:
        for task_id, task in zip(ids, drawn, strict=True):
            conn.execute(
                "UPDATE tasks SET state = ?, prompt = ?, model = ?, action = ?, image_count = ?,"
                " created_at = ? WHERE id = ?",
                (
                    task["state"],
                    task["prompt"],
                    task["model"],
                    task["action"],
                    task["images"],
                    task["created"],
                    task_id,
                ),
            )
    conn.close()


@pytest.fixture(scope="module")
def shared_store() -> Iterator[Store]:
    """One store for every example (opening one costs more than an example): each example
    empties it and fills it again."""
    with tempfile.TemporaryDirectory(prefix="nbtui-query-") as tmp, Store.open(Path(tmp)) as store:
        yield store


@settings(
    max_examples=examples(60, 400),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(drawn=st.lists(tasks(), min_size=1, max_size=10), text=QUERIES)
def test_sql_shows_exactly_the_tasks_the_rules_match(
    shared_store: Store, drawn: list[dict[str, Any]], text: str
) -> None:
    query = parse(text)
    store = shared_store
    store.remove(store.ids(), now=NOW)
    fill(store, drawn)
    everything = store.all()
    rowids = {task.id: rowid for task, rowid in zip(everything, rowids_of(store), strict=True)}
    expected = {
        task.id
        for task in everything
        if reference(query, task_row(task, rowids[task.id]), store.labels(task.id), task.action)
    }
    shown = {task.id for task in store.all(compile_query(query, NOW))}
    assert shown == expected
    # The list's order reads the same tasks (the index-backed path).
    ordered = compute_order(store, ListView(query=query), NOW)
    assert set(ordered.rowids) == {rowids[task_id] for task_id in expected}


def rowids_of(store: Store) -> list[int]:
    return [store.rowid_of(task.id) or 0 for task in store.all()]


def test_an_unknown_stored_state_reads_as_pending(tmp_path: Path) -> None:
    with Store.open(tmp_path) as store:
        fill(store, [{"state": "mystery", "prompt": "p", "model": None, "action": None,
                      "labels": [], "images": 0, "created": None}])  # fmt: skip
        assert len(store.all(compile_query(parse("state:pending"), NOW))) == 1
        assert len(store.all(compile_query(parse("pending"), NOW))) == 1
        assert store.all(compile_query(parse("-state:pending"), NOW)) == []
