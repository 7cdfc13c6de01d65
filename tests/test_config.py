"""Settings: defaults < file < profile < environment < flags, and messages that name the culprit."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from nbtui.config import (
    DEFAULT_BASE_URL,
    ConfigError,
    InvalidSettings,
    Settings,
    config_file_path,
    config_warnings,
    default_data_dir,
    load_settings,
)


@pytest.fixture
def config(tmp_path: Path) -> Path:
    return tmp_path / "config.toml"


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_a_file(config: Path) -> None:
    settings = load_settings(env={}, config_path=config)
    assert settings.base_url == DEFAULT_BASE_URL
    assert settings.profile == "default"
    assert (settings.poll_interval, settings.batch_size, settings.max_concurrency) == (5.0, 50, 4)
    assert (settings.timeout, settings.max_attempts) == (30.0, 4)
    assert settings.data_dir == default_data_dir()
    assert settings.keymap == {} and settings.save_dir is None


def test_default_data_dir_follows_the_platform_dirs(isolated_environment: Path) -> None:
    assert default_data_dir() == isolated_environment / "data" / "nbtui"


def test_precedence_defaults_file_profile_env_flags(config: Path) -> None:
    write(
        config,
        """
        base_url = "https://file.example"
        poll_interval = 10
        batch_size = 20
        max_concurrency = 2
        timeout = 11

        [profiles.work]
        base_url = "https://profile.example"
        poll_interval = 7
        batch_size = 30
        """,
    )
    env = {"NBTUI_PROFILE": "work", "NBTUI_POLL_INTERVAL": "3", "ACEDATACLOUD_API_BASE_URL": ""}
    settings = load_settings({"batch_size": 40, "timeout": None}, env=env, config_path=config)
    assert settings.profile == "work"  # from the environment
    assert settings.base_url == "https://profile.example"  # profile beats file (env var empty)
    assert settings.poll_interval == 3.0  # environment beats profile
    assert settings.batch_size == 40  # flag beats profile
    assert settings.max_concurrency == 2  # file beats default
    assert settings.timeout == 11.0  # a None flag does not shadow the file
    assert settings.max_attempts == 4  # default

    env["ACEDATACLOUD_API_BASE_URL"] = "http://127.0.0.1:8787/"
    assert load_settings(env=env, config_path=config).base_url == "http://127.0.0.1:8787"
    flagged = load_settings({"base_url": "https://flag.example"}, env=env, config_path=config)
    assert flagged.base_url == "https://flag.example"


def test_profile_chosen_by_file_then_env_then_flag(config: Path) -> None:
    write(
        config,
        """
        profile = "home"
        [profiles.home]
        batch_size = 1
        [profiles.work]
        batch_size = 2
        [profiles.ci]
        batch_size = 3
        """,
    )
    assert load_settings(env={}, config_path=config).batch_size == 1
    env = {"NBTUI_PROFILE": "work"}
    assert load_settings(env=env, config_path=config).batch_size == 2
    chosen = load_settings({"profile": "ci"}, env=env, config_path=config)
    assert (chosen.profile, chosen.batch_size) == ("ci", 3)
    # A profile without a table is still a profile (it selects the keyring entry).
    other = load_settings({"profile": "spare"}, env={}, config_path=config)
    assert (other.profile, other.batch_size) == ("spare", 50)


def test_config_path_from_the_environment(tmp_path: Path) -> None:
    target = write(tmp_path / "elsewhere.toml", "batch_size = 9\n")
    env = {"NBTUI_CONFIG": str(target)}
    assert config_file_path(env) == target
    assert load_settings(env=env).batch_size == 9


def test_data_dir_from_the_environment_and_user_expansion(config: Path, tmp_path: Path) -> None:
    settings = load_settings(env={"NBTUI_DATA_DIR": str(tmp_path / "d")}, config_path=config)
    assert settings.data_dir == tmp_path / "d"
    write(config, 'data_dir = "~/nbtui-data"\n')
    assert load_settings(env={}, config_path=config).data_dir == Path.home() / "nbtui-data"


def test_poll_interval_has_a_floor_of_one_second(config: Path) -> None:
    assert load_settings({"poll_interval": 1}, env={}, config_path=config).poll_interval == 1.0
    with pytest.raises(ConfigError) as info:
        load_settings({"poll_interval": 0.2}, env={}, config_path=config)
    message = str(info.value)
    assert "poll_interval = 0.2" in message and "the command line" in message
    assert "greater than or equal to 1" in message


def test_validation_names_key_value_and_source(config: Path) -> None:
    write(config, 'batch_size = "lots"\n[profiles.default]\nbase_url = "ftp://x"\n')
    with pytest.raises(ConfigError) as info:
        load_settings(env={"NBTUI_POLL_INTERVAL": "soon"}, config_path=config)
    lines = str(info.value).splitlines()
    assert lines[0] == "Invalid settings:"
    text = "\n".join(lines)
    assert f"batch_size = 'lots' (from {config})" in text
    assert f"base_url = 'ftp://x' (from {config} [profiles.default])" in text
    assert "must start with http:// or https://" in text
    assert "poll_interval = 'soon' (from the environment variable NBTUI_POLL_INTERVAL)" in text


def test_unknown_keys_are_refused_by_name(config: Path) -> None:
    write(config, "pol_interval = 3\n")
    with pytest.raises(ConfigError, match=r"pol_interval = 3 .*Extra inputs are not permitted"):
        load_settings(env={}, config_path=config)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("batch_size", "0"),
        ("batch_size", "1001"),
        ("max_concurrency", "33"),
        ("timeout", "0"),
        ("max_attempts", "11"),
        ("poll_interval", "3601"),
    ],
)
def test_out_of_range_values_are_refused(config: Path, key: str, value: str) -> None:
    write(config, f"{key} = {value}\n")
    with pytest.raises(ConfigError, match=rf"{key} = {value}"):
        load_settings(env={}, config_path=config)


def test_bad_toml_names_the_file_and_the_line(config: Path) -> None:
    write(config, "poll_interval = 5\nbatch_size = = 3\n")
    with pytest.raises(ConfigError) as info:
        load_settings(env={}, config_path=config)
    assert str(config) in str(info.value) and "line 2" in str(info.value)


def test_a_file_that_is_not_utf8_is_a_clear_error(config: Path) -> None:
    config.write_bytes(b"poll_interval = 5\n# \xff\xfe\n")
    with pytest.raises(ConfigError, match="not UTF-8") as info:
        load_settings(env={}, config_path=config)
    assert str(config) in str(info.value)


def test_an_unreadable_config_path_is_a_clear_error(config: Path) -> None:
    config.mkdir()
    with pytest.raises(ConfigError, match="Cannot open the configuration file"):
        load_settings(env={}, config_path=config)


@pytest.mark.parametrize("text", ["profiles = 3\n", "[profiles]\ndefault = 3\n"])
def test_profiles_must_be_tables(config: Path, text: str) -> None:
    write(config, text)
    with pytest.raises(ConfigError, match="must be a table"):
        load_settings(env={}, config_path=config)


def test_keymap_and_notifications_from_the_file(config: Path) -> None:
    write(config, 'notify_bell = true\n[keymap]\nrefresh = "ctrl+r,f5"\n')
    settings = load_settings(env={}, config_path=config)
    assert settings.notify_bell is True and settings.keymap == {"refresh": "ctrl+r,f5"}


def test_unknown_keys_get_a_suggestion(config: Path) -> None:
    write(config, "batch_sise = 3\n")
    with pytest.raises(ConfigError, match=r"batch_sise = 3 .*\(did you mean batch_size\?\)"):
        load_settings(env={}, config_path=config)


def test_keymap_entries_must_be_text(config: Path) -> None:
    write(config, '[keymap]\nrefresh = 5\nquit = "ctrl+q"\nhelp = true\n')
    with pytest.raises(ConfigError) as info:
        load_settings(env={}, config_path=config)
    lines = str(info.value).splitlines()
    assert lines[1:] == [
        f"  keymap.refresh = 5 (from {config}): Input should be a valid string",
        f"  keymap.help = True (from {config}): Input should be a valid string",
    ]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ('notify_bell = "maybe"', "notify_bell = 'maybe'"),
        ("poll_interval = nan", "Input should be a finite number"),
        ('batch_size = "2.5"', "unable to parse string as an integer"),
        ("batch_size = 2.5", "got a number with a fractional part"),
        ("max_attempts = true", "Input should be a valid integer"),
        ('data_dir = ["a"]', "Input is not a valid path"),
        ("base_url = 3", "base_url = 3 (from"),
    ],
)
def test_values_of_the_wrong_kind_are_refused(config: Path, text: str, problem: str) -> None:
    write(config, text + "\n")
    with pytest.raises(ConfigError, match="Invalid settings") as info:
        load_settings(env={}, config_path=config)
    assert problem in str(info.value)


def test_values_are_coerced_as_read(config: Path) -> None:
    write(config, 'notify_bell = "yes"\nbatch_size = "20"\nmax_attempts = 3.0\n')
    settings = load_settings(env={}, config_path=config)
    assert (settings.notify_bell, settings.batch_size, settings.max_attempts) == (True, 20, 3)
    assert type(settings.max_attempts) is int


def test_every_way_of_making_settings_validates_the_same() -> None:
    with pytest.raises(InvalidSettings) as info:
        Settings(batch_size=0, timeout="soon")  # type: ignore[arg-type]
    assert [problem.loc for problem in info.value.problems] == [("batch_size",), ("timeout",)]
    settings = Settings()
    changed = dataclasses.replace(settings, poll_interval="2", base_url="HTTP://x.test/")  # type: ignore[arg-type]
    assert (changed.poll_interval, changed.base_url) == (2.0, "http://x.test")
    with pytest.raises(InvalidSettings, match=r"poll_interval = 0\.5: Input should be greater"):
        dataclasses.replace(settings, poll_interval=0.5)
    assert dataclasses.replace(settings, batch_size=7).batch_size == 7


def test_settings_are_immutable() -> None:
    settings = Settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.batch_size = 3  # type: ignore[misc]


@pytest.mark.parametrize(
    ("url", "host", "insecure"),
    [
        ("https://api.acedata.cloud", "api.acedata.cloud", False),
        ("http://127.0.0.1:8787", "127.0.0.1:8787", False),
        ("http://localhost:8787", "localhost:8787", False),
        ("http://[::1]:8787", "[::1]:8787", False),
        ("http://proxy.example", "proxy.example", True),
        ("http://sim.test", "sim.test", False),  # RFC 6761 names never leave the machine
        ("http://demo.nbtui.invalid", "demo.nbtui.invalid", False),
        ("http://api.localhost:9", "api.localhost:9", False),
        ("http://test.example.com", "test.example.com", True),
        ("http://10.0.0.5", "10.0.0.5", True),
    ],
)
def test_api_host_and_insecure_remote(url: str, host: str, insecure: bool) -> None:
    settings = Settings(base_url=url)
    assert settings.api_host == host
    assert settings.is_insecure_remote is insecure


def test_real_environment_is_read_by_default(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NBTUI_POLL_INTERVAL", "9")
    assert load_settings(config_path=config).poll_interval == 9.0


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("http://user:secret@127.0.0.1:8787", "user name or password"),
        ("http:///nano", "must name a host"),
        ("http://[bad", "not a valid URL"),
        ("http://a b", "must name a host"),
        ("http://127.0.0.1:99999", "not a valid URL"),
        ("http://127.0.0.1:8787?x=1", "query"),
        ("http://127.0.0.1:8787#frag", "fragment"),
    ],
)
def test_base_urls_the_client_would_refuse_are_config_errors(
    config: Path, url: str, problem: str
) -> None:
    # Each of these used to pass validation and then crash the client with a traceback.
    with pytest.raises(ConfigError) as caught:
        load_settings(env={"ACEDATACLOUD_API_BASE_URL": url}, config_path=config)
    text = str(caught.value)
    assert problem in text
    assert "ACEDATACLOUD_API_BASE_URL" in text


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("HTTP://127.0.0.1:8787/", "http://127.0.0.1:8787"),
        ("  https://proxy.example/prefix//  ", "https://proxy.example/prefix"),
    ],
)
def test_base_url_is_normalised(url: str, expected: str) -> None:
    assert Settings(base_url=url).base_url == expected


def test_a_rejected_base_url_is_not_echoed_with_its_password() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings({"base_url": "https://alice:s3cret@api.example.com"}, env={})
    message = str(caught.value)
    assert "s3cret" not in message and "alice" not in message
    assert "https://***@api.example.com" in message


def test_a_missing_config_file_named_by_the_environment_is_warned_about(tmp_path: Path) -> None:
    env = {"NBTUI_CONFIG": str(tmp_path / "typo.toml")}
    assert config_warnings(env=env) == [
        f"NBTUI_CONFIG names {tmp_path / 'typo.toml'}, which does not exist: "
        "using the default settings."
    ]
    write(tmp_path / "typo.toml", "")
    assert config_warnings(env=env) == []
    # Without the variable, no config file is the ordinary first run: nothing to say.
    assert config_warnings(env={}, config_path=tmp_path / "absent.toml") == []


def test_a_profile_the_config_file_lacks_is_warned_about(config: Path) -> None:
    write(config, "[profiles.work]\nbatch_size = 9\n")
    assert config_warnings({"profile": "work"}, env={}, config_path=config) == []
    assert config_warnings({"profile": "default"}, env={}, config_path=config) == []
    (warning,) = config_warnings({"profile": "nosuch"}, env={}, config_path=config)
    assert warning.startswith(f'The profile "nosuch" is not in the config file {config}')
    (warning,) = config_warnings(env={"NBTUI_PROFILE": "nosuch"}, config_path=config)
    assert '"nosuch"' in warning
    # A broken file is load_settings' to report, not a second, vaguer warning.
    write(config, "[profiles\n")
    assert config_warnings({"profile": "nosuch"}, env={}, config_path=config) == []
