"""The filter language of the task list and `nbtui list --filter`, parsed and compiled to SQL.

A query is words separated by spaces; a task is shown when it matches every one of them:

- a free word (or a "quoted phrase"): found, ignoring case, in the task's id, prompt (as the
  list shows it: its label when it has no prompt), state or model, as the filter always did;
- `state:failed`: the state, by name or by the start of one (`state:fail`, `state:not-found`);
  several with commas (`state:pending,running`) match any of them;
- `model:pro`, `prompt:"red fox"`, `id:7f3a`: found in that field only, ignoring case;
- `label:client-x`: one of the task's labels (`task_labels`), the whole of it, ignoring case;
- `action:edit`: the task's action, the whole of it, ignoring case;
- `images:>1` (also `<`, `>=`, `<=`, `=` or a plain number): the count of result images;
- `age:<1h`, `age:>2d` (also `<=`, `>=`; units s, m, h, d, w): the time since the task was
  created (first tracked, before the service answered), as the list's AGE column counts;
- `-` before any of these excludes what it matches (`-state:failed`, `-cat`).

A malformed query raises `QueryError` with a message for the user. `compile_query` turns a
query into a WHERE clause that SQLite runs over `tasks` (at 50,000 tasks a scan, not a read
of every row into Python): texts are compared with LIKE, which folds ASCII letters, and a
task whose text is not plain printable ASCII (accents, other scripts, control characters)
is matched in Python (`matches`), so such text matches exactly as the list shows it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from nbtui.api.state import TaskState
from nbtui.textsafe import one_line
from nbtui.tracking.rows import state_of

__all__ = [
    "COLUMNS",
    "FIELDS",
    "MAX_QUERY_LENGTH",
    "NEEDS_PYTHON",
    "Compiled",
    "Query",
    "QueryError",
    "Term",
    "compile_query",
    "fold",
    "label_key",
    "matches",
    "parse",
    "states_named",
]

#: The fields a term can name, in the order the error message lists them.
FIELDS = ("state", "model", "label", "action", "images", "age", "prompt", "id")
#: Longer queries are refused (LIKE patterns have a length limit, and nobody types this much).
MAX_QUERY_LENGTH = 1_000

_UNITS = {"s": 1.0, "m": 60.0, "h": 3_600.0, "d": 86_400.0, "w": 604_800.0}
_COMPARISON = re.compile(r"(>=|<=|>|<|=)?(.*)", re.DOTALL)
_NUMBER = re.compile(r"[+-]?\d+")
_DURATION = re.compile(r"(\d+(?:\.\d+)?|\.\d+)([a-z]+)?")
_FIELD_NAME = re.compile(r"[a-z]+")


class QueryError(ValueError):
    """A query that cannot be read; the message says what is wrong, for the user."""


@dataclass(frozen=True, slots=True)
class Term:
    """One word of a query: `field` None for free text; `value` already lowercased."""

    field: str | None
    value: str
    negate: bool = False
    #: For images and age: the comparison (">", "<", ">=", "<=", "=").
    op: str = "="
    #: For images: the count; for age: seconds.
    number: float = 0.0
    #: For state: the states it names.
    states: frozenset[TaskState] = frozenset()


@dataclass(frozen=True, slots=True)
class Query:
    """A parsed query: every term must match."""

    terms: tuple[Term, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.terms)


@dataclass(frozen=True, slots=True)
class Compiled:
    """A filter as SQL over `tasks`: `plain` for rows whose text SQLite can fold (where
    `NEEDS_PYTHON` is 0), `other` for the rest (calling `functions`), with their parameters.
    """

    plain: str
    plain_params: tuple[Any, ...]
    other: str
    other_params: tuple[Any, ...]
    functions: Mapping[str, tuple[int, Callable[..., Any]]]


def fold(value: str | None) -> str:
    """Text as the list shows it (one line, no control characters), lowercased."""
    return one_line(value).lower() if value else ""


def states_named(text: str) -> frozenset[TaskState]:
    """The states whose name starts with `text` ("fail", "not found", "not-found"...)."""
    wanted = re.sub(r"[-_\s]+", " ", text.strip().lower())
    return frozenset(state for state in TaskState if wanted and state.label.startswith(wanted))


# -- parsing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    text: str  # with the quotes removed
    field: str | None  # the name before an unquoted colon (lowercased), if any
    value: str  # after that colon (or the whole text)
    negate: bool
    quoted: bool  # the value (or the whole word) was written in quotes


def _tokens(text: str) -> list[_Token]:
    tokens: list[_Token] = []
    position, end = 0, len(text)
    while position < end:
        if text[position].isspace():
            position += 1
            continue
        negate = False
        if text[position] == "-" and position + 1 < end and not text[position + 1].isspace():
            negate = True
            position += 1
        parts: list[str] = []
        field: str | None = None
        quoted = False
        while position < end and not text[position].isspace():
            char = text[position]
            if char == '"':
                close = text.find('"', position + 1)
                if close < 0:
                    raise QueryError('unclosed quote: add a " after the words it starts')
                parts.append(text[position + 1 : close])
                quoted = True
                position = close + 1
                continue
            if char == ":" and field is None and not quoted and parts:
                name = "".join(parts).lower()
                if _FIELD_NAME.fullmatch(name):
                    field, parts = name, []
                    position += 1
                    continue
            parts.append(char)
            position += 1
        value = "".join(parts)
        whole = f"{field}:{value}" if field is not None else value
        tokens.append(_Token(whole, field, value, negate, quoted))
    return tokens


def parse(text: str) -> Query:
    """The query `text` says (see the module docstring); raises QueryError when malformed."""
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(f"the filter is too long (at most {MAX_QUERY_LENGTH} characters)")
    terms: list[Term] = []
    for token in _tokens(text):
        if token.field is None:
            if token.quoted and not token.value.strip():
                raise QueryError('empty quotes: put the words to look for between the ""')
            terms.append(Term(None, token.value.strip().lower(), token.negate))
        else:
            terms.append(_field_term(token))
    return Query(tuple(terms))


def _field_term(token: _Token) -> Term:
    field, raw, negate = token.field, token.value.strip(), token.negate
    if field not in FIELDS:
        raise QueryError(
            f'unknown field "{field}" (fields: {", ".join(FIELDS)}; '
            f'quote text with a colon: "{token.text}")'
        )
    if not raw:
        example = {
            "state": "state:failed",
            "model": "model:pro",
            "label": "label:client-x",
            "action": "action:edit",
            "images": "images:>1",
            "age": "age:<1h",
            "prompt": 'prompt:"a red fox"',
            "id": "id:7f3a",
        }[field]
        raise QueryError(f"{field}: needs a value, e.g. {example}")
    if field == "state":
        states: set[TaskState] = set()
        for name in raw.split(","):
            found = states_named(name)
            if not found:
                known = ", ".join(state.label for state in TaskState)
                raise QueryError(f'state: no state is called "{name.strip()}" (states: {known})')
            states |= found
        return Term(field, raw.lower(), negate, states=frozenset(states))
    if field == "images":
        op, number = _comparison(raw)
        if not _NUMBER.fullmatch(number):
            raise QueryError("images: needs a whole number, e.g. images:>1 or images:0")
        return Term(field, raw, negate, op=op, number=float(int(number)))
    if field == "age":
        op, duration = _comparison(raw)
        if op == "=":
            raise QueryError(
                "age: needs < or >, e.g. age:<1h (newer than an hour) or age:>2d (older)"
            )
        seconds = _seconds(duration)
        return Term(field, raw, negate, op=op, number=seconds)
    return Term(field, raw.lower(), negate)


def _comparison(raw: str) -> tuple[str, str]:
    match = _COMPARISON.fullmatch(raw)
    assert match is not None  # the pattern matches any text
    return match.group(1) or "=", match.group(2).strip()


def _seconds(text: str) -> float:
    match = _DURATION.fullmatch(text.lower())
    if match is None or match.group(2) is None or match.group(2) not in _UNITS:
        raise QueryError("age: needs a time with a unit (s, m, h, d or w), e.g. age:<1h or age:>2d")
    return float(match.group(1)) * _UNITS[match.group(2)]


# -- matching -------------------------------------------------------------------------------

#: The columns of `tasks` a query reads, in the order `Query.matches` takes them.
COLUMNS = (
    "id",
    "state",
    "prompt",
    "label",
    "model",
    "action",
    "image_count",
    "created_at",
    "first_seen",
)


def _term_matches(term: Term, values: tuple[Any, ...], now: float) -> bool:
    task_id, state, prompt, label, model, action, images, created, first_seen = values
    field, value = term.field, term.value
    if field is None or field == "prompt":
        shown = fold(prompt) or fold(label)
        if field == "prompt":
            return value in shown
        return (
            value in task_id
            or value in state_of(state).label
            or value in shown
            or value in fold(model)
        )
    if field == "state":
        return state_of(state) in term.states
    if field == "model":
        return value in fold(model)
    if field == "id":
        return value in task_id
    if field == "action":
        return fold(action) == value
    if field == "images":
        return _compare(float(images), term.op, term.number)
    age = now - (created if created is not None else first_seen)
    return _compare(age, term.op, term.number)


def _compare(left: float, op: str, right: float) -> bool:
    if op == ">":
        return left > right
    if op == "<":
        return left < right
    if op == ">=":
        return left >= right
    if op == "<=":
        return left <= right
    return left == right


def matches(query: Query, values: tuple[Any, ...], now: float) -> bool:
    """Whether a task (its `COLUMNS` as stored) matches the terms of `query` other than
    `label:` at `now`: the rule itself, which SQL runs for text it cannot fold (see
    `compile_query`; labels live in their own table, which SQL always compares)."""
    return all(
        _term_matches(term, values, now) != term.negate
        for term in query.terms
        if term.field != "label"
    )


def label_key(label: str) -> str:
    """What two labels that are the same label have in common (case folded)."""
    return label.casefold()


# -- SQL -------------------------------------------------------------------------------------

_MATCH_FUNCTION = "nbtui_matches"
#: 1 when a task's text (prompt, label, model, action) has a character outside printable
#: ASCII (a letter SQLite cannot fold, a control character the list drops), else 0. GLOB and
#: length() stop at a NUL, which the byte length (of the whole text) does not. The
#: store's filter index holds it (`schema.py`), so a query finds each kind by a lookup.
_ALL_TEXT = (
    "COALESCE(prompt, '') || COALESCE(label, '') || COALESCE(model, '') || COALESCE(action, '')"
)
NEEDS_PYTHON = (
    f"(({_ALL_TEXT}) GLOB '*[^ -~]*' OR length(CAST(({_ALL_TEXT}) AS BLOB)) != length({_ALL_TEXT}))"
)
_SQL_OPERATORS = {">": ">", "<": "<", ">=": ">=", "<=": "<=", "=": "="}
#: The fields whose text is folded (a free word: the prompt, label line and model).
_TEXT_FIELDS = frozenset({None, "prompt", "model", "action"})
_LABEL_FUNCTION = "nbtui_label_key"


def _text(column: str) -> str:
    return f"COALESCE({column}, '')"


def _like_pattern(needle: str) -> str:
    escaped = needle.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class _Builder:
    """The WHERE clause for rows whose text columns are plain (see `compile_query`)."""

    def __init__(self, now: float) -> None:
        self.now = now
        self.params: list[Any] = []

    def bind(self, value: Any) -> str:
        self.params.append(value)
        return "?"

    def contains(self, column: str, needle: str) -> str:
        return f"({_text(column)} LIKE {self.bind(_like_pattern(needle))} ESCAPE '\\')"

    def equals(self, column: str, value: str) -> str:
        return f"(lower(trim({_text(column)})) = {self.bind(value)})"

    def prompt_contains(self, needle: str) -> str:
        """In the prompt the list shows: the prompt, or the label where there is none."""
        prompt = self.contains("prompt", needle)
        return (
            f"(CASE WHEN label IS NULL THEN {prompt} "
            f"WHEN trim({_text('prompt')}) != '' THEN {self.contains('prompt', needle)} "
            f"ELSE {self.contains('label', needle)} END)"
        )

    def label_is(self, value: str) -> str:
        """One of the task's labels is `value`, ignoring case (`label_key`). The table
        compares ASCII letters without case itself (COLLATE NOCASE, from its index); a
        label with other characters is compared in Python."""
        key = label_key(value)
        return (
            f"(id IN (SELECT task_id FROM task_labels WHERE label = {self.bind(key)}) OR "  # noqa: S608
            f"id IN (SELECT task_id FROM task_labels WHERE label GLOB '*[^ -~]*' "
            f"AND {_LABEL_FUNCTION}(label) = {self.bind(key)}))"
        )

    def state_in(self, states: frozenset[TaskState]) -> str:
        """The stored state is one of `states` (a value nbtui does not know reads as pending)."""
        if not states:
            return "0"
        if TaskState.PENDING in states:
            others = [state.value for state in TaskState if state not in states]
            if not others:
                return "1"
            marks = ", ".join(self.bind(value) for value in others)
            return f"(state NOT IN ({marks}))"
        marks = ", ".join(self.bind(state.value) for state in sorted(states))
        return f"(state IN ({marks}))"

    def term(self, term: Term) -> str:
        field, value = term.field, term.value
        if field is None:
            states = frozenset(state for state in TaskState if value in state.label)
            return (
                f"(instr(id, {self.bind(value)}) > 0 OR {self.state_in(states)} OR "
                f"{self.prompt_contains(value)} OR {self.contains('model', value)})"
            )
        if field == "state":
            return self.state_in(term.states)
        if field == "model":
            return self.contains("model", value)
        if field == "prompt":
            return self.prompt_contains(value)
        if field == "id":
            return f"(instr(id, {self.bind(value)}) > 0)"
        if field == "action":
            return self.equals("action", value)
        if field == "label":
            return self.label_is(value)
        op = _SQL_OPERATORS[term.op]
        if field == "images":
            return f"(image_count {op} {self.bind(int(term.number))})"
        # age: the same subtraction `matches` makes, so a boundary falls the same way
        now = self.bind(self.now)
        return f"(({now} - COALESCE(created_at, first_seen)) {op} {self.bind(term.number)})"


def compile_query(query: Query, now: float) -> Compiled:
    """The filter `query` at `now` (ages count to it) as SQL (see `Compiled`).

    SQLite matches rows whose text (prompt, label, model, action) is printable ASCII, which
    is what the list shows but for its ends, and which LIKE folds as Python does; any other
    row (accents, other scripts, control characters) is matched by `matches` in Python, as
    the list shows it. Which is which is kept in the store's filter index (`NEEDS_PYTHON`),
    so telling them apart costs nothing at read time.
    """
    builder = _Builder(now)
    clauses = []
    text = False
    for term in query.terms:
        clause = builder.term(term)
        clauses.append(f"NOT {clause}" if term.negate else clause)
        text = text or term.field in _TEXT_FIELDS
    plain = " AND ".join(clauses) if clauses else "1"
    functions: dict[str, tuple[int, Callable[..., Any]]] = {}
    if any(term.field == "label" for term in query.terms):
        functions[_LABEL_FUNCTION] = (1, label_key)
    if not text:  # no text to fold: the same SQL for every row
        return Compiled(plain, tuple(builder.params), plain, tuple(builder.params), functions)

    def python_matches(*values: Any) -> bool:
        return matches(query, values, now)

    # Rows with text SQLite cannot fold: Python for every term but the labels (their own
    # table, compared by SQL as in the other arm).
    labels = _Builder(now)
    other = [f"{_MATCH_FUNCTION}({', '.join(COLUMNS)})"]
    for term in query.terms:
        if term.field == "label":
            clause = labels.term(term)
            other.append(f"NOT {clause}" if term.negate else clause)
    functions[_MATCH_FUNCTION] = (len(COLUMNS), python_matches)
    return Compiled(
        plain, tuple(builder.params), " AND ".join(other), tuple(labels.params), functions
    )
