"""A person asks what nudged saw today, and what it can see at all."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path

import pytest

from nudged.activity.base import Focus
from nudged.activity.hub import ActivityHub
from nudged.cli import main
from nudged.store import Store, default_db_path


def test_usage_lists_present_time_per_app_and_category(
    private_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (private_home / ".config" / "nudged").mkdir(parents=True)
    (private_home / ".config" / "nudged" / "config.toml").write_text(
        '[core]\ntimezone = "Europe/Berlin"\n')
    from zoneinfo import ZoneInfo

    tz = ZoneInfo("Europe/Berlin")
    store = Store.open(default_db_path())
    now = [datetime(2026, 3, 2, 9, 0, tzinfo=tz)]
    hub = ActivityHub(lambda: now[0], tz, store)
    hub.focus_changed("x11", Focus("code", "notes.md"), now[0])
    now[0] = datetime(2026, 3, 2, 10, 30, tzinfo=tz)
    hub.focus_changed("x11", Focus("Firefox", "Reddit"), now[0])
    now[0] = datetime(2026, 3, 2, 10, 50, tzinfo=tz)
    hub.heartbeat()
    store.close()

    assert main(["usage", "--day", "2026-03-02", "--json"]) == 0
    usage = json.loads(capsys.readouterr().out)
    assert usage == {"day": "2026-03-02", "total_minutes": 110.0,
                     "by_app": {"code": 90.0, "Firefox": 20.0},
                     "by_category": {}, "by_site": {}}
    assert main(["usage", "--day", "2026-03-02"]) == 0
    text = capsys.readouterr().out
    assert "2026-03-02: 1h50m at the screen" in text
    assert "code" in text and "1h30m" in text


def test_usage_of_a_day_without_data_and_a_bad_day(
    private_home: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["usage", "--day", "2026-03-03", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["total_minutes"] == 0.0
    assert main(["usage", "--day", "yesterday"]) == 2
    assert '--day: "yesterday" is not a date (expected YYYY-MM-DD)' in capsys.readouterr().err


def test_doctor_explains_each_capability_when_nothing_can_be_seen(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    for var in ("DISPLAY", "WAYLAND_DISPLAY", "DBUS_SESSION_BUS_ADDRESS", "XDG_SESSION_TYPE",
                "SWAYSOCK", "HYPRLAND_INSTANCE_SIGNATURE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path=/nonexistent/system_bus")
    monkeypatch.setenv("NUDGED_AW_URL", "http://127.0.0.1:9")
    assert main(["doctor", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["session"] == "unknown"
    caps = report["capabilities"]
    assert set(caps) == {"idle", "lock", "sleep", "focus", "title", "url"}
    assert caps["sleep"]["source"] == "clock"  # the clock-jump fallback always works
    for name in ("idle", "lock", "focus", "title", "url"):
        assert caps[name]["source"] is None
        assert caps[name]["reason"], name
    assert any(t["source"] == "x11" and t["reason"] == "not used in an unknown session"
               for t in caps["focus"]["tried"])
    assert main(["doctor"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("session: unknown")
    assert "  sleep  clock" in text
