"""A person edits config.toml and is told, in one sentence, what is wrong and where."""

from __future__ import annotations

import tomllib
from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nudged import config as configmod
from nudged.cli import main
from nudged.errors import ConfigError


def check(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    path = tmp_path / "config.toml"
    path.write_text(text)
    code = main(["config", "check", str(path)])
    out = capsys.readouterr()
    return code, (out.err + out.out).replace(str(path), "config.toml")


BAD_EVERY = """\
[core]
timezone = "Europe/Berlin"

# my water reminder
[[plugins.custom.nudges]]
id = "water"
title = "Water"
every = "5 minuts"
"""


def test_a_misspelt_duration_names_file_line_key_and_a_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out = check(tmp_path, BAD_EVERY, capsys)
    assert code == 2
    assert out.strip() == ('config.toml:8: plugins.custom.nudges[0].every: "5 minuts" is not '
                           'a duration (try "5m")')


def test_a_misspelt_key_gets_a_did_you_mean(tmp_path: Path,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(tmp_path, "[core]\nmax_per_hour = 3\nsnoze = \"5m\"\n", capsys)
    assert code == 2
    assert out.strip() == "config.toml:3: core.snoze: unknown key; did you mean 'snooze'?"


def test_a_table_for_a_plugin_that_is_not_installed(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(tmp_path, "[plugins.quite]\nhours = []\n", capsys)
    assert code == 2
    assert out.strip() == ("config.toml:1: plugins.quite: no plugin named 'quite' is installed; "
                           "did you mean [plugins.quiet]?")


def test_toml_syntax_errors_name_the_line(tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(tmp_path, '[core]\nmax_per_hour = 4\nsnooze = "10m\n', capsys)
    assert code == 2
    assert out.startswith("config.toml:3: this is not valid TOML: ")


def test_several_problems_are_all_reported_at_once(tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(tmp_path, """\
[core]
max_per_hour = 0
timezone = "Europe/Berln"

[plugins.quiet]
hours = ["12:30-13:15", "13:00"]
""", capsys)
    assert code == 2
    assert out.strip().splitlines() == [
        'config.toml:3: core.timezone: "Europe/Berln" is not a known time zone '
        '(for example "Europe/Berlin")',
        "config.toml:2: core.max_per_hour: 0: input should be greater than or equal to 1",
    ]
    # With [core] mended, the plugin tables are checked too.
    code, out = check(tmp_path, '[plugins.quiet]\nhours = ["12:30-13:15", "13:00"]\n', capsys)
    assert code == 2
    assert out.startswith('config.toml:2: plugins.quiet.hours[1]: "13:00" is not a time window')


def test_a_valid_config_passes_and_says_so(tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    code, out = check(tmp_path, '[core]\nmax_per_hour = 2\n', capsys)
    assert (code, out.strip()) == (0, "config.toml: OK")


def test_no_file_means_defaults(private_home: Path) -> None:
    loaded = configmod.load()
    assert loaded.source.exists is False
    assert loaded.source.path == private_home / ".config" / "nudged" / "config.toml"
    assert loaded.settings.core.max_per_hour == 4
    assert loaded.settings.core.snooze == timedelta(minutes=10)


def test_an_explicit_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        configmod.load(tmp_path / "nope.toml")


def test_environment_variables_override_single_keys(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[core]\nmax_per_hour = 4\nsnooze = "10m"\n[plugins.quiet]\nhours = []\n')
    monkeypatch.setenv("NUDGED_CORE__MAX_PER_HOUR", "2")
    monkeypatch.setenv("NUDGED_PLUGINS__QUIET__ENABLED", "false")
    loaded = configmod.load(path)
    assert loaded.settings.core.max_per_hour == 2
    assert loaded.settings.core.snooze == timedelta(minutes=10)  # untouched keys stay
    assert loaded.settings.plugins["quiet"]["enabled"] in (False, "false")


def test_a_bad_environment_value_is_blamed_on_the_variable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NUDGED_CORE__MAX_PER_HOUR", "many")
    with pytest.raises(ConfigError) as err:
        configmod.load_text("[core]\nmax_per_hour = 4\n", tmp_path / "config.toml")
    assert str(err.value) == ('environment variable NUDGED_CORE__MAX_PER_HOUR: '
                              'core.max_per_hour: expected a whole number, got "many"')


def test_config_init_writes_the_example_once_and_never_overwrites(
    private_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = private_home / ".config" / "nudged" / "config.toml"
    assert main(["config", "path"]) == 0
    assert capsys.readouterr().out.strip() == str(target)
    assert main(["config", "init"]) == 0
    assert target.read_text() == (Path(__file__).parent.parent / "config.example.toml").read_text()
    target.write_text("# mine\n")
    assert main(["config", "init"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert target.read_text() == "# mine\n"


def test_config_show_prints_the_effective_config_as_valid_toml(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "config.toml"
    path.write_text('[core]\nmax_per_hour = 3\n[[plugins.custom.nudges]]\nid = "a"\n'
                    'title = "A"\nevery = "90m"\n')
    assert main(["config", "show", "--config", str(path)]) == 0
    shown = tomllib.loads(capsys.readouterr().out)
    assert shown["core"]["max_per_hour"] == 3
    assert shown["core"]["snooze"] == "10m"  # defaults included, in human form
    assert shown["plugins"]["custom"]["nudges"][0]["every"] == "1h30m"
    assert shown["plugins"]["quiet"]["hours"] == []
    # What `show` prints is itself a valid config.
    again = tmp_path / "again.toml"
    again.write_text(tomllib.loads(path.read_text()) and _dump(shown))
    assert configmod.load(again).settings.core.max_per_hour == 3


def _dump(doc: dict[str, object]) -> str:
    from nudged.tomlwrite import dumps

    return dumps(doc)


# -- property: arbitrary documents never crash the loader -------------------------------
scalars = st.one_of(st.booleans(), st.integers(-10**6, 10**6), st.text(max_size=12),
                    st.floats(allow_nan=False, allow_infinity=False),
                    st.sampled_from(["5m", "1h30m", "22:30", "mon-fri", "09:00-18:00",
                                     "fri 23:00-01:00", "", "7d"]))
keys = st.sampled_from(["core", "plugins", "custom", "quiet", "nudges", "hours", "every", "at",
                        "id", "title", "body", "enabled", "max_per_hour", "snooze", "timezone",
                        "window", "days", "x"])
values = st.recursive(scalars, lambda inner: st.one_of(
    st.lists(inner, max_size=3), st.dictionaries(keys, inner, max_size=4)), max_leaves=12)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.dictionaries(keys, values, max_size=4))
def test_arbitrary_documents_only_ever_raise_config_errors(doc: dict[str, object]) -> None:
    from nudged.runtime import build_host
    from nudged.tomlwrite import dumps

    text = dumps(doc)
    try:
        loaded = configmod.load_text(text, Path("config.toml"), environ={})
    except ConfigError as exc:
        assert all(line.startswith("config.toml") for line in exc.problems)
        return
    host, problems = build_host(loaded, {})
    for record in host.records.values():
        assert record.status.value in ("loaded", "disabled", "config-error"), record.reason
    assert all(p.startswith("config.toml") for p in problems)


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_arbitrary_text_only_ever_raises_config_errors(text: str) -> None:
    try:
        loaded = configmod.load_text(text, Path("config.toml"), environ={})
    except ConfigError as exc:
        assert exc.problems and all(p.startswith("config.toml") for p in exc.problems)
    else:
        assert loaded.settings.core.max_per_hour >= 1
