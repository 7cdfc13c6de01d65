"""The user's own commands without the UI: `[commands]` checks, argv expansion, running."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from nbtui.config import (
    DEFAULT_COMMAND_TIMEOUT,
    Placeholder,
    Settings,
    UserCommand,
    load_settings,
)
from nbtui.usercommands import (
    OUTPUT_LIMIT,
    ExpandError,
    child_environment,
    expand,
    run_argv,
)

# -- the config ---------------------------------------------------------------------------


def commands_of(table: object) -> tuple[tuple[UserCommand, ...], tuple[str, ...]]:
    configured = Settings.from_mapping({"commands": table}).commands
    return configured.commands, configured.problems


def test_a_command_from_the_file(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text(
        "[commands.upscale]\n"
        'key = "ctrl+u"\n'
        'argv = ["upscale-tool", "--in", "{image_path}", "--out", "/tmp/{{out}}.png"]\n'
        "timeout = 120\n"
        "[commands.echo]\n"
        'argv = ["echo", "--", "{prompt}", "{labels}", "{id}", "{image_url}"]\n',
        encoding="utf-8",
    )
    settings = load_settings(env={}, config_path=config)
    upscale, echo = settings.commands.commands
    assert settings.commands.problems == ()
    assert upscale == UserCommand(
        "upscale",
        "ctrl+u",
        ("upscale-tool", "--in", Placeholder.IMAGE_PATH, "--out", "/tmp/{out}.png"),
        120.0,
    )
    assert upscale.placeholders == {Placeholder.IMAGE_PATH}
    assert echo.key is None and echo.timeout == DEFAULT_COMMAND_TIMEOUT
    assert echo.argv[2:] == (
        Placeholder.PROMPT,
        Placeholder.LABELS,
        Placeholder.ID,
        Placeholder.IMAGE_URL,
    )


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            {"argv": ["sh", "-c", "echo {prompt}"]},
            "argv element 3 'echo {prompt}' puts {prompt} inside other text: "
            "a placeholder must be a whole argument",
        ),
        ({"argv": ["cp", "{image_path}.bak"]}, "puts {image_path} inside other text"),
        ({"argv": ["x", "{id}{prompt}"]}, "puts {id} inside other text"),
        (
            {"argv": ["x", "{secret}"]},
            "argv element 2 '{secret}' names an unknown placeholder {secret} "
            "(known: {id}, {image_url}, {image_path}, {prompt}, {labels})",
        ),
        ({"argv": ["x", "{}"]}, "names an unknown placeholder {}"),
        (
            {"argv": ["x", "a}b"]},
            "argv element 2 'a}b' has a lone { or }: write {{ and }} for literal braces",
        ),
        ({"argv": ["x", "{id"]}, "has a lone { or }"),
        (
            {"argv": ["{prompt}"]},
            "the program (the first argv element) must be written out, not a placeholder",
        ),
        ({"argv": [" "]}, "the program (the first argv element) must be written out"),
        ({"argv": []}, 'argv must be a list of text, the program first: argv = ["echo", "{id}"]'),
        ({"argv": "echo {id}"}, "argv must be a list of text"),
        ({"argv": ["echo", 3]}, "argv must be a list of text"),
        ({"key": "u"}, "argv must be a list of text"),
        ({"argv": ["x"], "key": 5}, 'key must be text naming a key, e.g. key = "ctrl+u"'),
        ({"argv": ["x"], "key": " "}, "key must be text naming a key"),
        ({"argv": ["x"], "kye": "u"}, "has an unknown setting 'kye' (known: key, argv, timeout)"),
        ({"argv": ["x"], "timeout": 0}, "timeout 0: Input should be greater than 0"),
        ({"argv": ["x"], "timeout": "soon"}, "timeout 'soon': Input should be a valid number"),
        ({"argv": ["x"], "timeout": 7200}, "Input should be less than or equal to 3600"),
        ("echo", 'must be a table with key and argv, e.g. argv = ["echo", "{id}"]'),
    ],
)
def test_a_bad_command_is_refused_with_its_reason(table: object, message: str) -> None:
    good = {"argv": ["true"]}
    commands, problems = commands_of({"bad": table, "good": good})
    assert [command.name for command in commands] == ["good"]  # the rest still works
    assert len(problems) == 1
    assert problems[0].startswith("Command 'bad' refused: ")
    assert message in problems[0]


def test_a_bad_name_or_table_is_refused() -> None:
    _, problems = commands_of({"\x1b[2Jx": {"argv": ["true"]}, "y" * 41: {"argv": ["true"]}})
    assert len(problems) == 2
    assert all("its name must be 1 to 40 printable characters" in p for p in problems)
    assert "\x1b" not in problems[0]  # the name is shown without its control characters
    _, problems = commands_of(["not", "a", "table"])
    assert problems == ("[commands] must be a table of [commands.NAME] tables",)


def test_refused_commands_never_stop_the_settings_loading(tmp_path: Path) -> None:
    config = tmp_path / "config.toml"
    config.write_text('[commands.bad]\nargv = ["sh", "-c", "echo {prompt}"]\n', encoding="utf-8")
    settings = load_settings(env={}, config_path=config)  # no ConfigError
    assert settings.commands.commands == ()
    assert "Command 'bad' refused" in settings.commands.problems[0]


def test_checked_commands_survive_replace() -> None:
    import dataclasses

    settings = Settings.from_mapping({"commands": {"a": {"argv": ["echo", "{id}"]}}})
    again = dataclasses.replace(settings, poll_interval=10)
    assert again.commands == settings.commands


# -- expansion ----------------------------------------------------------------------------


def test_each_value_is_one_whole_argument() -> None:
    prompt = "a cat; rm -rf ~ $(reboot) `id` 'quoted' \"double\"\nnext line"
    argv = expand(
        ("tool", "--prompt", Placeholder.PROMPT, "--", Placeholder.ID, "{literal}"),
        {Placeholder.PROMPT: prompt, Placeholder.ID: "1a2b"},
    )
    assert argv == ["tool", "--prompt", prompt, "--", "1a2b", "{literal}"]


def test_an_empty_value_is_still_one_argument() -> None:
    assert expand(("tool", Placeholder.LABELS, "x"), {Placeholder.LABELS: ""}) == ["tool", "", "x"]


def test_a_missing_value_or_a_nul_is_refused() -> None:
    with pytest.raises(ExpandError, match=r"no value for \{image_path\}"):
        expand(("tool", Placeholder.IMAGE_PATH), {})
    with pytest.raises(ExpandError, match=r"\{prompt\} holds a NUL character"):
        expand(("tool", Placeholder.PROMPT), {Placeholder.PROMPT: "a\0b"})


def test_the_token_is_dropped_from_the_environment() -> None:
    token = "sk-very-secret-token-1234"
    env = {
        "PATH": "/usr/bin",
        "ACEDATACLOUD_API_TOKEN": "whatever",
        "MY_COPY": f"Bearer {token}",
        "HOME": "/home/u",
    }
    assert child_environment(env, token) == {"PATH": "/usr/bin", "HOME": "/home/u"}
    assert child_environment(env, None) == {
        "PATH": "/usr/bin",
        "MY_COPY": f"Bearer {token}",
        "HOME": "/home/u",
    }


# -- running ------------------------------------------------------------------------------


async def test_a_real_command_copies_a_file(tmp_path: Path) -> None:
    source = tmp_path / "in.png"
    source.write_bytes(b"\x89PNG fake")
    target = tmp_path / "out dir" / "out.png"
    target.parent.mkdir()
    script = "import shutil, sys; shutil.copy(sys.argv[1], sys.argv[2]); print('copied')"
    argv = expand(
        (sys.executable, "-c", script, Placeholder.IMAGE_PATH, str(target)),
        {Placeholder.IMAGE_PATH: str(source)},
    )
    result = await run_argv(argv, time_limit=30, env=child_environment({"PATH": ""}, None))
    assert result.ok and result.outcome == "done (exit 0)"
    assert result.stdout == b"copied\n"
    assert target.read_bytes() == b"\x89PNG fake"


async def test_the_exit_status_and_stderr_are_kept() -> None:
    script = "import sys; sys.stderr.write('bad input\\n'); sys.exit(3)"
    result = await run_argv([sys.executable, "-c", script], time_limit=30, env={})
    assert (result.exit_code, result.ok, result.outcome) == (3, False, "failed (exit 3)")
    assert result.stderr == b"bad input\n"


async def test_stdin_is_closed() -> None:
    script = "import sys; print(repr(sys.stdin.read()))"
    result = await run_argv([sys.executable, "-c", script], time_limit=30, env={})
    assert result.stdout == b"''\n"


async def test_output_is_capped() -> None:
    script = f"import sys; sys.stdout.write('x' * {OUTPUT_LIMIT + 1000})"
    result = await run_argv([sys.executable, "-c", script], time_limit=30, env={})
    assert result.ok
    assert len(result.stdout) == OUTPUT_LIMIT and result.dropped == (1000, 0)


async def test_a_command_that_outlasts_its_timeout_is_killed(tmp_path: Path) -> None:
    marker = tmp_path / "finished"
    script = f"import time, pathlib; time.sleep(30); pathlib.Path({str(marker)!r}).touch()"
    result = await run_argv([sys.executable, "-c", script], time_limit=0.5, env={})
    assert result.exit_code is None and not result.ok
    assert result.outcome == "timed out after 0.5 s (killed)"
    assert not marker.exists()


async def test_a_missing_program_is_named() -> None:
    result = await run_argv(["nbtui-no-such-program", "x"], time_limit=5, env={"PATH": "/"})
    assert result.outcome == (
        "program not found: nbtui-no-such-program (is it installed and on PATH?)"
    )


async def test_a_file_that_is_not_executable_is_named(tmp_path: Path) -> None:
    plain = tmp_path / "plain.sh"
    plain.write_text("echo hi\n")
    plain.chmod(0o644)
    result = await run_argv([str(plain)], time_limit=5, env={})
    assert result.outcome == f"cannot run {plain}: it is not executable (permission denied)"


async def test_the_token_never_reaches_the_command(monkeypatch: pytest.MonkeyPatch) -> None:
    token = "sk-test-token-abcdef123456"
    monkeypatch.setenv("ACEDATACLOUD_API_TOKEN", token)
    monkeypatch.setenv("SOME_OTHER_NAME", token)
    import os

    script = "import os; print('\\n'.join(f'{k}={v}' for k, v in os.environ.items()))"
    env = child_environment(os.environ, token)
    result = await run_argv([sys.executable, "-c", script], time_limit=30, env=env)
    assert result.ok
    assert token.encode() not in result.stdout
    assert b"ACEDATACLOUD_API_TOKEN" not in result.stdout
    assert b"PATH=" in result.stdout  # the rest of the environment is there
