"""`nbtui label ID... --add L --remove L`: labels from scripts."""

from __future__ import annotations

import io
import json

import pytest

from tests.helpers import CliRunner

A = "4d320ead-4af4-4a55-8f3e-f2afebdf4fd0"
B = "1ebe4f2b-0000-4000-8000-000000000001"
UNKNOWN = "11111111-2222-4333-8444-555555555555"


def test_label_adds_and_removes_and_prints_each_id(cli: CliRunner) -> None:
    assert cli("add", "--label", "draft", A, B).code == 0
    run = cli("label", A, B, "--add", "client-x, final", "--add", "v2", "--remove", "draft")
    assert run.code == 0
    assert run.lines == [f"{A}  client-x, final, v2", f"{B}  client-x, final, v2"]
    run = cli("label", A, "--remove", "FINAL,v2")  # case-insensitive, a comma list
    assert run.lines == [f"{A}  client-x"]
    assert cli("label", B).lines == [f"{B}  client-x, final, v2"]  # no flag: only prints
    run = cli("label", A, "--remove", "client-x")
    assert run.lines == [f"{A}  (no labels)"]
    (row,) = [r for r in json.loads(cli("list", "--json").out) if r["id"] == A]
    assert row["label"] is None


def test_label_names_untracked_ids_as_remove_does(cli: CliRunner) -> None:
    cli("add", A)
    run = cli("label", A, UNKNOWN, "--add", "x")
    assert run.code == 0
    assert run.lines == [f"{A}  x", f"{UNKNOWN}  not tracked"]
    assert json.loads(cli("label", A, UNKNOWN, "--json").out) == [
        {"id": A, "tracked": True, "labels": ["x"]},
        {"id": UNKNOWN, "tracked": False, "labels": []},
    ]


def test_label_refuses_a_bad_label_before_any_write(cli: CliRunner) -> None:
    cli("add", "--label", "keep", A)
    run = cli("label", A, "--add", "fine", "--add", "bell\x07")
    assert run.code == 2 and "--add: A label cannot contain control" in run.err
    run = cli("label", A, "--remove", "x" * 65)
    assert run.code == 2 and "--remove: A label has at most 64 characters" in run.err
    assert cli("label", A, "--add", " , ").code == 2
    assert cli("label", A).lines == [f"{A}  keep"]  # nothing was written


def test_label_reads_ids_from_stdin_and_names_bad_ones(
    cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    cli("add", A, B)
    monkeypatch.setattr("sys.stdin", io.StringIO(f"{A}\njunk {B}\n"))
    run = cli("label", "-", "--add", "batch")
    assert run.code == 2  # a bad id, as `add` and `remove` say
    assert run.lines == [f"{A}  batch", f"{B}  batch"]
    assert "'junk'" in run.err


def test_label_help_names_the_flags(cli: CliRunner) -> None:
    run = cli("label", "--help")
    assert run.code == 0
    assert "--add L" in run.out and "--remove L" in run.out
    assert "label" in cli("--help").out
