"""The optional `columns` setting: which task-list columns to show, checked with clear words."""

from __future__ import annotations

from pathlib import Path

import pytest

from nbtui.config import LIST_COLUMNS, ConfigError, Settings, load_settings
from nbtui.tui.widgets.task_list import COLUMNS, DROP_ORDER


def test_every_column_has_a_setting_name_and_a_place_in_the_drop_order() -> None:
    assert tuple(column.name for column in COLUMNS) == LIST_COLUMNS
    always = {column.key for column in COLUMNS if column.name in ("state", "prompt")}
    assert {column.key for column in COLUMNS} - always == set(DROP_ORDER)


def test_columns_from_the_file_in_the_order_given(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('columns = ["State", "prompt", " age "]\n', encoding="utf-8")
    assert load_settings(env={}, config_path=config).columns == ("state", "prompt", "age")
    assert Settings().columns is None  # unset: every column, as room allows
    assert Settings(columns="prompt,time").columns == ("prompt", "time")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        (
            'columns = ["state", "labels", "prompt"]',
            "has no column named 'labels'; the columns are state, id, prompt, model, img, "
            "age, time, updated",
        ),
        ('columns = ["age", "age"]', "names 'age' more than once"),
        ("columns = []", "should name at least one column"),
        ("columns = 3", "should be a list of column names"),
        ('columns = ["state", 1]', "should be a list of column names"),
    ],
)
def test_bad_columns_are_refused_by_name(tmp_path: Path, text: str, problem: str) -> None:
    config = tmp_path / "config.toml"
    config.write_text(text + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(env={}, config_path=config)
    message = str(info.value)
    assert "columns = " in message and f"(from {config})" in message
    assert problem in message
