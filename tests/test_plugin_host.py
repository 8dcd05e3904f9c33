"""A broken plugin is a status with a reason, never a dead daemon."""

from __future__ import annotations

import json
import textwrap
from importlib.metadata import EntryPoint
from pathlib import Path

import pytest
from helpers import shown, simulate

from nudged import PLUGIN_API_VERSION, NudgeSpec, __version__
from nudged.cli import main
from nudged.models import Every
from nudged.plugins import PluginHost, PluginStatus
from nudged.runtime import PluginSelection, build_host

PING = '[core]\ntimezone = "UTC"\n'


def write_plugin(folder: Path, name: str, source: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.py"
    path.write_text(textwrap.dedent(source))
    return path


def user_dir(home: Path) -> Path:
    return home / ".config" / "nudged" / "plugins"


def test_a_single_file_plugin_in_the_config_folder_loads_like_any_other(
    private_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_plugin(user_dir(private_home), "posture", """
        from datetime import timedelta
        from nudged import NudgeSpec, Every

        def nudged_register_nudges(register):
            register(NudgeSpec("sit-up", "Posture check", "Shoulders down, feet flat.",
                               schedule=Every(timedelta(hours=1))))
    """)
    assert main(["plugins", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(capsys.readouterr().out)}
    assert rows["posture"]["status"] == "ok"
    assert rows["posture"]["distribution"] == "(single file)"
    assert rows["custom"]["distribution"] == "nudged"  # built-ins come via entry points
    items, _ = simulate(PING, days=0.2, present=["00:00-23:59"])
    assert ("Mon 01:00", "posture:sit-up") in shown(items)


@pytest.mark.parametrize(
    ("source", "status", "reason"),
    [
        ("import not_a_module_anywhere\n", "import-error",
         "ModuleNotFoundError: No module named 'not_a_module_anywhere'"),
        ("raise SystemExit(3)\n", "import-error", "SystemExit: 3"),
        ("def nudged_filter_nuge(nudge): pass\n", "invalid-hook",
         "nudged_filter_nuge is not a nudged hook (did you mean nudged_filter_nudge?)"),
        ("def nudged_on_response(nudge, mood): pass\n", "invalid-hook",
         "nudged_on_response asks for mood, which the hook does not provide"),
        ("async def nudged_filter_nudge(nudge): return None\n", "invalid-hook",
         "nudged_filter_nudge must be a plain def: a decision hook cannot be async"),
        ("async def nudged_register_nudges(register): pass\n", "invalid-hook",
         "nudged_register_nudges must be a plain def: this hook cannot be async"),
        ("def nudged_config_model():\n    return dict\n", "config-error",
         "nudged_config_model returned <class 'dict'>, not a pydantic model class"),
        ("from nudged import NudgeSpec\ndef nudged_register_nudges(register):\n"
         "    register(NudgeSpec('x', 'X', '', buttons=('later',)))\n", "startup-error",
         "ValueError: unknown button 'later'; buttons are done, snooze, skip"),
        ("def nudged_startup():\n    raise RuntimeError('no camera')\n", "startup-error",
         "RuntimeError: no camera"),
        ("def nudged_register_nudges(register):\n    register('water')\n", "startup-error",
         "nudged_register_nudges raised TypeError: register() takes a NudgeSpec, not str"),
        ("from nudged import PluginConfig\nclass C(PluginConfig):\n    level: int = 1\n"
         "def nudged_config_model():\n    return C\n", "config-error",
         "plugins.odd.level: expected a whole number, got \"high\""),
        (f"nudged_api = {PLUGIN_API_VERSION + 1}\ndef nudged_startup(): pass\n",
         "needs-newer-nudged",
         f"needs plugin API {PLUGIN_API_VERSION + 1}; this nudged {__version__} offers "
         f"{PLUGIN_API_VERSION}: upgrade nudged"),
        ("nudged_api = '2'\n", "invalid-hook",
         f"nudged_api = '2' is not a plugin API version (write a whole number from 1 up, "
         f"like nudged_api = {PLUGIN_API_VERSION})"),
        ("nudged_api = 0\n", "invalid-hook", "nudged_api = 0 is not a plugin API version"),
        ("nudged_api = True\n", "invalid-hook", "nudged_api = True is not a plugin API version"),
        ("nudged_api_version = 2\n", "invalid-hook",
         "nudged_api_version is not something nudged reads (did you mean nudged_api?); a "
         "plugin's nudged_* names are its hooks and nudged_api"),
    ],
    ids=["missing-import", "exits", "misspelt-hook", "wrong-argument", "async-filter",
         "async-register", "config-hook-returns-dict", "unknown-button",
         "startup-raises", "bad-register", "bad-config", "needs-newer-api", "api-as-text",
         "api-zero", "api-bool", "misspelt-api"],
)
def test_each_kind_of_failure_becomes_a_status_and_the_rest_keep_nudging(
    private_home: Path, source: str, status: str, reason: str
) -> None:
    write_plugin(user_dir(private_home), "odd", source)
    config = PING + '[plugins.odd]\nlevel = "high"\n' if status == "config-error" else PING
    config += '[[plugins.custom.nudges]]\nid = "water"\ntitle = "Water"\nevery = "1h"\n'
    items, runtime = simulate(config, days=0.15, present=["00:00-23:59"])
    record = runtime.host.records["odd"]
    assert record.status.value == status
    assert reason in record.reason
    assert shown(items) == [("Mon 01:00", "custom:water"), ("Mon 02:00", "custom:water"),
                            ("Mon 03:00", "custom:water")]


class Flaky:
    """Raises in every hook it implements, at runtime."""

    def __init__(self) -> None:
        self.calls = 0

    def nudged_filter_nudge(self, nudge):  # type: ignore[no-untyped-def]
        self.calls += 1
        raise ValueError("cannot read the calendar")

    def nudged_on_response(self, nudge, response):  # type: ignore[no-untyped-def]
        raise ValueError("cannot write the diary")


def test_a_plugin_that_keeps_raising_is_disabled_as_erroring_and_others_carry_on() -> None:
    flaky = Flaky()
    items, runtime = simulate(
        PING + '[[plugins.custom.nudges]]\nid = "water"\ntitle = "Water"\nevery = "1h"\n',
        days=0.25, present=["00:00-23:59"], plugins={"flaky": flaky})
    record = runtime.host.records["flaky"]
    assert record.status is PluginStatus.ERRORING
    assert record.reason.startswith("disabled after 3 failures in a row")
    assert "ValueError: cannot" in record.reason
    assert flaky.calls <= 3  # not asked again once disabled
    assert len(shown(items)) == 6  # 01:00 .. 06:00, every one shown


def test_disable_plugins_from_the_environment(private_home: Path) -> None:
    loaded = __import__("helpers").load(PING)
    host, _ = build_host(loaded, {"NUDGED_DISABLE_PLUGINS": "quiet, custom"})
    by_env = {n for n, r in host.records.items() if r.reason == "NUDGED_DISABLE_PLUGINS"}
    assert by_env == {"custom", "quiet"}
    assert host.records["quiet"].reason == "NUDGED_DISABLE_PLUGINS"


def test_an_entry_point_that_cannot_be_imported_does_not_stop_the_others() -> None:
    eps = [
        EntryPoint("ghost", "nudged_plugins_nowhere:Plugin", "nudged"),
        EntryPoint("quiet", "nudged_plugins.quiet:QuietHoursPlugin", "nudged"),
    ]
    loaded = __import__("helpers").load(PING)
    host, _ = build_host(loaded, {}, PluginSelection(entry_points=eps, user_dir=Path("/none")))
    assert host.records["ghost"].status is PluginStatus.IMPORT_ERROR
    assert host.records["quiet"].status is PluginStatus.LOADED


def test_two_plugins_with_the_same_name_the_second_is_reported(private_home: Path) -> None:
    write_plugin(user_dir(private_home), "quiet", "def nudged_startup(): pass\n")
    host = PluginHost({"XDG_CONFIG_HOME": str(private_home / ".config")})
    host.discover()
    dupes = [r for r in host.records.values() if "already used" in r.reason]
    assert len(dupes) == 1 and dupes[0].source.endswith("quiet.py")


def test_hooks_are_called_in_load_order_and_the_first_filter_answer_wins() -> None:
    from nudged import Decision

    order: list[str] = []

    class First:
        def nudged_filter_nudge(self, nudge):  # type: ignore[no-untyped-def]
            order.append("first")
            return Decision.suppress("first said no")

    class Second:
        def nudged_filter_nudge(self, nudge):  # type: ignore[no-untyped-def]
            order.append("second")
            return None

    class Source:
        def nudged_register_nudges(self, register):  # type: ignore[no-untyped-def]
            from datetime import timedelta
            register(NudgeSpec("x", "X", "", schedule=Every(timedelta(hours=1))))

    items, _ = simulate(PING, days=0.05, present=["00:00-23:59"], builtins=False,
                        plugins={"a-first": First(), "b-second": Second(), "c": Source()})
    assert order == ["first"]
    assert items[0].why == ["01:00 suppressed by a-first: first said no"]


def test_tryfirst_and_trylast_filters_are_asked_in_that_order() -> None:
    from nudged import Decision, hookimpl

    order: list[str] = []

    class Last:
        @hookimpl(trylast=True)
        def nudged_filter_nudge(self, nudge):  # type: ignore[no-untyped-def]
            order.append("last")

    class Plain:
        def nudged_filter_nudge(self, nudge):  # type: ignore[no-untyped-def]
            order.append("plain")

    class First:
        @hookimpl(tryfirst=True)
        def nudged_filter_nudge(self, nudge):  # type: ignore[no-untyped-def]
            order.append("first")
            return None

    class Source:
        def nudged_register_nudges(self, register):  # type: ignore[no-untyped-def]
            from datetime import timedelta
            register(NudgeSpec("x", "X", "", schedule=Every(timedelta(hours=1))))

    simulate(PING, days=0.05, present=["00:00-23:59"], builtins=False,
             plugins={"a-last": Last(), "b-plain": Plain(), "c-first": First(), "d": Source()})
    assert order == ["first", "plain", "last"]
    assert Decision.allow().verdict.value == "allow"


def test_a_plugin_disabled_for_erroring_still_gets_its_shutdown() -> None:
    flaky = Flaky()
    stopped: list[str] = []
    flaky.nudged_shutdown = lambda: stopped.append("flaky")  # type: ignore[attr-defined]
    simulate(PING + '[[plugins.custom.nudges]]\nid = "w"\ntitle = "W"\nevery = "1h"\n',
             days=0.25, present=["00:00-23:59"], plugins={"flaky": flaky})
    assert stopped == ["flaky"]


def test_a_plugin_that_needs_a_newer_api_is_never_instantiated_nor_called() -> None:
    made: list[str] = []

    class Future:
        nudged_api = PLUGIN_API_VERSION + 1

        def __init__(self) -> None:
            made.append("instance")

        def nudged_register_nudges(self, register):  # type: ignore[no-untyped-def]
            made.append("register")

    items, runtime = simulate(PING + '[[plugins.custom.nudges]]\nid = "w"\ntitle = "W"\n'
                              'every = "1h"\n', days=0.1, present=["00:00-23:59"],
                              plugins={"future": Future})
    record = runtime.host.records["future"]
    assert (record.status, record.reason) == (
        PluginStatus.NEEDS_NEWER,
        f"needs plugin API {PLUGIN_API_VERSION + 1}; this nudged {__version__} offers "
        f"{PLUGIN_API_VERSION}: upgrade nudged")
    assert made == []
    assert shown(items) == [("Mon 01:00", "custom:w"), ("Mon 02:00", "custom:w")]


@pytest.mark.parametrize("api", range(1, PLUGIN_API_VERSION + 1))
def test_a_plugin_that_needs_this_api_or_an_older_one_runs(api: int) -> None:
    class Present:
        nudged_api = api

        def nudged_register_nudges(self, register):  # type: ignore[no-untyped-def]
            from datetime import timedelta
            register(NudgeSpec("x", "X", "", schedule=Every(timedelta(hours=1))))

    items, runtime = simulate(PING, days=0.1, present=["00:00-23:59"], builtins=False,
                              plugins={"present": Present()})
    assert runtime.host.records["present"].status is PluginStatus.OK
    assert shown(items) == [("Mon 01:00", "present:x"), ("Mon 02:00", "present:x")]


def test_nudged_plugins_says_which_plugin_needs_a_newer_nudged(
    private_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_plugin(user_dir(private_home), "later", "nudged_api = 99\n")
    assert main(["plugins"]) == 0
    (line,) = [line for line in capsys.readouterr().out.splitlines() if line.startswith("later")]
    assert line.split() == ["later", "needs-newer-nudged", "(single", "file)", "needs", "plugin",
                            "API", "99;", "this", "nudged", __version__, "offers",
                            f"{PLUGIN_API_VERSION}:", "upgrade", "nudged"]
