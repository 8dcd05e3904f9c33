"""Focus on GNOME under Wayland: nudged's GNOME Shell extension and its activity source.

Three layers:

* The extension itself, without GNOME: both formats (43-44's ``init()`` script, 45's
  ES module) are generated from one body; both parse (``node --check``), and both run
  in node against the same fake GNOME Shell (fake ``global.display``, windows and
  ``Gio`` D-Bus export) and do exactly the same: the same signals, the same answers,
  every handler disconnected at ``disable()``. Nothing in it polls or writes files.
* The source against a fake extension on a private bus: reports, de-duplication,
  the extension vanishing, and the probe's reason in every state GNOME Shell can
  report (not installed, not loaded yet, switched off, out of date, failed).
* The real thing (TESTBEDS.md section 10): a headless GNOME Shell 43 in a private
  HOME, the extension installed by ``nudged gnome-extension install``; foot windows
  titled like browser tabs; focus moved, a title changed; ``nudged doctor`` before
  and after; and ``nudged run`` attributing the time to the right app and site, with
  the 1-minute social limit's notification shown by GNOME Shell itself.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from datetime import timedelta
from importlib.metadata import entry_points
from pathlib import Path
from typing import Any

import pytest
from dbus_fast import Message, MessageType, Variant
from dbus_fast.aio import MessageBus
from dbus_fast.constants import NameFlag

from nudged import cli, gnome
from nudged.activity.base import Capability, Focus, Health, Session, SessionType
from nudged.activity.gnome import (
    EXTENSIONS_IFACE,
    SHELL_NAME,
    SHELL_PATH,
    GnomeShellFocusSource,
    GnomeShellUnavailable,
    focus_from,
)
from nudged.activity.manager import KNOWN_SOURCES, choose, probe_all
from nudged.gnome import FOCUS_INTERFACE, FOCUS_NAME, FOCUS_PATH, UUID
from tests import testbed
from tests.test_daemon_service import NUDGED, Nudged, run_nudged, until, write_config
from tests.testbed import ActivityRecorder, SessionBus, require_dbus_daemon
from tests.testbed_gnome import GnomeShell, require_gnome_shell, require_node

__all__ = ["run_nudged"]  # a fixture, imported to be used here

desktop = pytest.mark.desktop

REDDIT = "Reddit - Dive into anything — Mozilla Firefox"
INSTAGRAM = "Instagram — Mozilla Firefox"
LOFI = "Lo-fi beats to relax to - YouTube — Mozilla Firefox"
NOTES = "notes - Text Editor"
REPORT_TIMEOUT = 10.0


def run(scenario: Callable[[], Any], timeout: float = 120.0) -> Any:
    async def bounded() -> Any:
        return await asyncio.wait_for(scenario(), timeout)
    return asyncio.run(bounded())


# --------------------------------------------------------------------------- the extension


def test_each_gnome_version_gets_its_format() -> None:
    assert gnome.variant_for(43) == gnome.Variant("legacy", (43, 44))
    assert gnome.variant_for(44).format == "legacy"
    for major in (45, 46, 47, 48, 49):
        assert gnome.variant_for(major) == gnome.Variant("esm", (45, 46, 47, 48, 49))
    newer = gnome.variant_for(52)
    assert (newer.format, newer.untested, newer.shell_versions[-1]) == ("esm", True, 52)
    with pytest.raises(gnome.GnomeExtensionError, match="too old"):
        gnome.variant_for(42)
    assert gnome.parse_shell_version("GNOME Shell 43.9\n") == 43
    assert gnome.parse_shell_version("GNOME Shell 47.alpha") == 47
    assert gnome.parse_shell_version("bash: gnome-shell: not found") is None


def test_both_formats_are_the_one_body_with_their_own_imports_and_entry_point() -> None:
    body = gnome.body()
    legacy = gnome.render(gnome.variant_for(43))
    esm = gnome.render(gnome.variant_for(46))
    for files in (legacy, esm):
        assert set(files) == {"extension.js", "metadata.json"}
        assert body in files["extension.js"], "the shared body, unchanged"
    assert "imports.gi" in legacy["extension.js"]
    assert "function init()" in legacy["extension.js"]
    assert "import " not in legacy["extension.js"].replace(body, "")
    assert "import Gio from 'gi://Gio'" in esm["extension.js"]
    assert "export default class" in esm["extension.js"]
    assert "imports.gi" not in esm["extension.js"].replace(body, "")
    for files, versions in ((legacy, ["43", "44"]), (esm, ["45", "46", "47", "48", "49"])):
        metadata = json.loads(files["metadata.json"])
        assert metadata["uuid"] == UUID
        assert metadata["shell-version"] == versions
        assert metadata["name"] and metadata["description"]


def test_the_extension_names_what_the_source_reads() -> None:
    body = gnome.body()
    assert f"'{FOCUS_NAME}'" in body
    assert f"'{FOCUS_PATH}'" in body
    assert f'<interface name="{FOCUS_INTERFACE}">' in body


@pytest.mark.parametrize("forbidden", [
    # Nothing polls: every report follows a signal of mutter's.
    "timeout_add", "idle_add", "setTimeout", "setInterval",
    # Nothing is written anywhere: no files, no settings, no log lines with titles.
    "Gio.File", "file_set_contents", "replace_contents", "Gio.Settings", "console.",
    "log(", "print(",
    # Only the focused window: never the list of all windows.
    "get_window_actors", "list_all_windows", "get_tab_list",
])
def test_the_extension_neither_polls_nor_writes_nor_looks_beyond_the_focus(
        forbidden: str) -> None:
    assert forbidden not in gnome.body()


def test_install_writes_the_variant_for_this_gnome_and_uninstall_removes_it(
        monkeypatch: pytest.MonkeyPatch, private_home: Path) -> None:
    calls: list[list[str]] = []
    settings = {"enabled-extensions": "@as []", "disabled-extensions": f"['{UUID}', 'b@c']",
                "disable-user-extensions": "false"}

    def fake_run(argv: list[str]) -> subprocess.CompletedProcess[str]:
        calls.append(argv)
        if argv[:2] == ["gsettings", "list-keys"]:
            return subprocess.CompletedProcess(argv, 0, "\n".join(settings), "")
        if argv[:2] == ["gsettings", "get"]:
            return subprocess.CompletedProcess(argv, 0, settings[argv[3]] + "\n", "")
        if argv[:2] == ["gsettings", "set"]:
            settings[argv[3]] = argv[4]
            return subprocess.CompletedProcess(argv, 0, "", "")
        return subprocess.CompletedProcess(argv, 1, "", "no shell here")

    monkeypatch.setattr(gnome, "_run", fake_run)
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    monkeypatch.setenv("XDG_SESSION_TYPE", "wayland")
    out = _Out()
    assert gnome.install(version=43, out=out) == 0
    target = private_home / ".local" / "share" / "gnome-shell" / "extensions" / UUID
    assert sorted(p.name for p in target.iterdir()) == ["extension.js", "metadata.json"]
    assert "function init()" in (target / "extension.js").read_text()
    assert settings["enabled-extensions"] == f"['{UUID}']"
    assert settings["disabled-extensions"] == "['b@c']", "the disabled list would win"
    assert "log out and back in" in out.text and "Wayland" in out.text

    # Again, for a newer GNOME: the other format replaces the old one in place.
    out = _Out()
    gnome.install(version=47, out=out)
    assert "export default class" in (target / "extension.js").read_text()
    assert json.loads((target / "metadata.json").read_text())["shell-version"][-1] == "49"
    assert settings["enabled-extensions"] == f"['{UUID}']", "listed once"
    assert [p.name for p in target.parent.iterdir()] == [UUID], "no staging folders left"

    out = _Out()
    gnome.install(version=50, out=out)
    assert "newer than nudged knows" in out.text

    settings["disable-user-extensions"] = "true"
    out = _Out()
    gnome.install(version=43, out=out)
    assert "switched off for your account" in out.text

    out = _Out()
    assert gnome.uninstall(out=out) == 0
    assert not target.exists()
    assert settings["enabled-extensions"] == "[]"
    assert ["gnome-extensions", "disable", UUID] in calls
    assert "Removed" in out.text
    out = _Out()
    gnome.uninstall(out=out)
    assert "not installed" in out.text


def test_install_without_a_gnome_shell_to_ask_says_what_to_pass(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(gnome, "shell_version", lambda: None)
    with pytest.raises(gnome.GnomeExtensionError, match="--shell-version"):
        gnome.install(out=_Out())


class _Out:
    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass


def test_a_focus_from_the_extension() -> None:
    assert focus_from([REDDIT, "firefox", "", 42]) == Focus("firefox", REDDIT, pid=42)
    assert focus_from([REDDIT, "firefox", "", 42], titles=False) == Focus("firefox", "", pid=42)
    assert focus_from(["Files", "", "org.gnome.Nautilus", 0]) == Focus(
        "org.gnome.Nautilus", "Files")
    assert focus_from(["", "", "", 0]) is None


def test_the_manager_knows_the_extension_s_source_first_for_focus() -> None:
    (candidate,) = [c for c in KNOWN_SOURCES
                    if not isinstance(c, str) and c.name == "gnome-shell"]
    assert candidate.capabilities == {Capability.FOCUS, Capability.TITLE}
    assert GnomeShellFocusSource.priority < 20, "before sway, Hyprland, wlroots, X11"


# -- both formats behave the same (node, a fake GNOME Shell)

HARNESS = r"""
import { register } from 'node:module';
import { readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

const [format, file] = process.argv.slice(2);
const log = [];

class Signals {
    constructor() { this._handlers = new Map(); this._next = 1; }
    connect(name, fn) { const id = this._next++; this._handlers.set(id, [name, fn]); return id; }
    disconnect(id) {
        if (!this._handlers.delete(id)) throw new Error(`no handler ${id}`);
    }
    emit(name) {
        for (const [n, fn] of [...this._handlers.values()]) if (n === name) fn(this, null);
    }
    get handlers() { return this._handlers.size; }
}
class Window extends Signals {
    constructor(title, wmClass, appId, pid) {
        super(); Object.assign(this, { title, wmClass, appId, pid });
    }
    get_title() { return this.title; }
    get_wm_class() { return this.wmClass; }
    get_gtk_application_id() { return this.appId; }
    get_sandboxed_app_id() { return null; }
    get_pid() { return this.pid; }
    setTitle(title) { this.title = title; this.emit('notify::title'); }
}
class Display extends Signals {
    constructor() { super(); this.focus_window = null; }
    focus(window) { this.focus_window = window; this.emit('notify::focus-window'); }
}
const display = new Display();
globalThis.global = { display };
let exported = null;
const Gio = {
    DBus: { session: { name: 'the session bus' } },
    BusNameOwnerFlags: { NONE: 0 },
    DBusExportedObject: {
        wrapJSObject(xml, impl) {
            const object = {
                impl,
                export(connection, path) {
                    log.push(['export', connection.name, path]);
                    exported = object;
                },
                unexport() { log.push(['unexport']); exported = null; },
                emit_signal(name, variant) {
                    log.push(['signal', name, variant.signature, variant.values]);
                },
            };
            return object;
        },
    },
    bus_own_name_on_connection(connection, name, flags) {
        log.push(['own', connection.name, name, flags]);
        return 7;
    },
    bus_unown_name(id) { log.push(['unown', id]); },
};
class Variant {
    constructor(signature, values) { this.signature = signature; this.values = values; }
}
class Extension { constructor(metadata) { this.metadata = metadata; } }
globalThis.__fakes = { Gio, GLib: { Variant }, Extension };

async function load() {
    if (format === 'legacy') {
        const source = readFileSync(file, 'utf8');
        const imports = { gi: { Gio, GLib: { Variant } } };
        const init = new Function('imports', source + '\nreturn init;')(imports);
        return init({ uuid: 'test' });
    }
    register('data:text/javascript,' + encodeURIComponent(`
        const fakes = {
            'gi://Gio': 'export default globalThis.__fakes.Gio;',
            'gi://GLib': 'export default globalThis.__fakes.GLib;',
            'resource:///org/gnome/shell/extensions/extension.js':
                'export const Extension = globalThis.__fakes.Extension;',
        };
        export async function resolve(specifier, context, next) {
            if (specifier in fakes)
                return { url: 'data:text/javascript,' + encodeURIComponent(fakes[specifier]),
                         shortCircuit: true };
            return next(specifier, context);
        }`));
    const module = await import(pathToFileURL(file).href);
    return new module.default({ uuid: 'test' });
}

const extension = await load();
const reddit = new Window('Reddit - Dive into anything — Mozilla Firefox', 'firefox', '', 101);
const notes = new Window('notes', '', 'org.gnome.TextEditor', 202);
display.focus_window = reddit;
const step = name => log.push(['step', name, exported ? exported.impl.GetFocus() : null]);
extension.enable(); step('enabled');
log.push(['version', exported.impl.Version]);
reddit.setTitle('Instagram — Mozilla Firefox'); step('a tab switch');
display.focus(notes); step('focus moved');
reddit.setTitle('YouTube — Mozilla Firefox'); step('the title of a window without the focus');
display.focus(reddit); step('focus back');
reddit.emit('unmanaged'); step('closed');
display.focus(null); step('no focus');
display.focus(notes); step('focus again');
extension.disable(); step('disabled');
log.push(['handlers left', display.handlers, reddit.handlers, notes.handlers]);
extension.enable(); extension.disable(); step('enabled and disabled again');
log.push(['handlers left', display.handlers, reddit.handlers, notes.handlers]);
console.log(JSON.stringify(log));
"""


def _node_run(node: str, tmp_path: Path, major: int) -> list[Any]:
    variant = gnome.variant_for(major)
    folder = tmp_path / variant.format
    folder.mkdir()
    # node takes a .mjs file for an ES module; the legacy script is read as text.
    name = "extension.mjs" if variant.format == "esm" else "extension.js"
    (folder / name).write_text(gnome.render(variant)["extension.js"], encoding="utf-8")
    harness = tmp_path / "harness.mjs"
    harness.write_text(HARNESS, encoding="utf-8")
    proc = subprocess.run([node, str(harness), variant.format, str(folder / name)],
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return list(json.loads(proc.stdout))


def test_both_formats_parse(tmp_path: Path) -> None:
    node = require_node()
    for major, name in ((43, "legacy.js"), (45, "esm.mjs")):
        path = tmp_path / name
        path.write_text(gnome.render(gnome.variant_for(major))["extension.js"])
        proc = subprocess.run([node, "--check", str(path)], capture_output=True, text=True,
                              timeout=60)
        assert proc.returncode == 0, f"{name}: {proc.stderr}"


def test_both_formats_behave_the_same(tmp_path: Path) -> None:
    node = require_node()
    legacy = _node_run(node, tmp_path, 43)
    esm = _node_run(node, tmp_path, 46)
    assert legacy == esm

    reddit = ["Reddit - Dive into anything — Mozilla Firefox", "firefox", "", 101]
    instagram = ["Instagram — Mozilla Firefox", "firefox", "", 101]
    youtube = ["YouTube — Mozilla Firefox", "firefox", "", 101]
    notes = ["notes", "", "org.gnome.TextEditor", 202]
    none = ["", "", "", 0]

    def signal(values: list[Any]) -> list[Any]:
        return ["signal", "FocusChanged", "(sssi)", values]

    assert legacy == [
        ["export", "the session bus", FOCUS_PATH],
        signal(reddit),
        ["own", "the session bus", FOCUS_NAME, 0],  # the object first, then the name
        ["step", "enabled", reddit],
        ["version", 1],
        signal(instagram),
        ["step", "a tab switch", instagram],
        signal(notes),
        ["step", "focus moved", notes],
        # Another window's title is none of the extension's business.
        ["step", "the title of a window without the focus", notes],
        signal(youtube),
        ["step", "focus back", youtube],
        # Closed: the next focus change reports (here, no focus at all).
        ["step", "closed", none],
        signal(none),
        ["step", "no focus", none],
        signal(notes),
        ["step", "focus again", notes],
        ["unown", 7],
        ["unexport"],
        ["step", "disabled", None],
        ["handlers left", 0, 0, 0],
        ["export", "the session bus", FOCUS_PATH],
        signal(notes),
        ["own", "the session bus", FOCUS_NAME, 0],
        ["unown", 7],
        ["unexport"],
        ["step", "enabled and disabled again", None],
        ["handlers left", 0, 0, 0],
    ]


# --------------------------------------------------------------------------- a fake extension


class FakeExtension:
    """What nudged's extension offers, served by this process on a private bus."""

    def __init__(self, address: str, signature: str = "sssi") -> None:
        self.address = address
        self.signature = signature
        self.now: list[Any] = ["", "", "", 0]
        self.bus: MessageBus | None = None

    async def start(self) -> FakeExtension:
        self.bus = await MessageBus(bus_address=self.address).connect()
        self.bus.add_message_handler(self._handle)
        await self.bus.request_name(FOCUS_NAME, NameFlag.DO_NOT_QUEUE)
        return self

    def _handle(self, msg: Message) -> Message | None:
        if msg.message_type == MessageType.METHOD_CALL and msg.path == FOCUS_PATH \
                and msg.member == "GetFocus":
            body = self.now if self.signature == "sssi" else self.now[:2]
            return Message.new_method_return(msg, self.signature, body)
        return None

    def move(self, *values: Any) -> None:
        self.now = list(values)
        assert self.bus is not None
        self.bus.send(Message.new_signal(FOCUS_PATH, FOCUS_INTERFACE, "FocusChanged",
                                         "sssi", self.now))

    async def stop(self) -> None:
        if self.bus is not None:
            self.bus.disconnect()
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.bus.wait_for_disconnect(), 2)
            self.bus = None


class FakeShell:
    """org.gnome.Shell's ``org.gnome.Shell.Extensions`` as it speaks of nudged's extension."""

    def __init__(self, address: str, info: dict[str, Variant],
                 user_extensions: bool = True) -> None:
        self.address = address
        self.info = info
        self.user_extensions = user_extensions
        self.bus: MessageBus | None = None

    async def start(self) -> FakeShell:
        self.bus = await MessageBus(bus_address=self.address).connect()
        self.bus.add_message_handler(self._handle)
        await self.bus.request_name(SHELL_NAME, NameFlag.DO_NOT_QUEUE)
        return self

    def _handle(self, msg: Message) -> Message | None:
        if msg.message_type != MessageType.METHOD_CALL or msg.path != SHELL_PATH:
            return None
        if msg.member == "GetExtensionInfo" and msg.body == [UUID]:
            return Message.new_method_return(msg, "a{sv}", [self.info])
        if msg.member == "Get" and msg.body == [EXTENSIONS_IFACE, "UserExtensionsEnabled"]:
            return Message.new_method_return(msg, "v", [Variant("b", self.user_extensions)])
        return None

    async def stop(self) -> None:
        if self.bus is not None:
            self.bus.disconnect()
            self.bus = None


@pytest.fixture
def bus() -> Iterator[SessionBus]:
    require_dbus_daemon()
    with SessionBus() as private:
        yield private


def gnome_session(address: str, environ: Mapping[str, str] | None = None,
                  kind: SessionType = SessionType.WAYLAND, desktop: str = "gnome") -> Session:
    env = {"DBUS_SESSION_BUS_ADDRESS": address, "HOME": os.environ["HOME"],
           "XDG_SESSION_TYPE": kind.value, **(environ or {})}
    return Session(type=kind, desktop=desktop, environ=env)


@contextlib.asynccontextmanager
async def running(session: Session, sink: ActivityRecorder,
                  wanted: frozenset[Capability] | None = None
                  ) -> AsyncIterator[GnomeShellFocusSource]:
    source = GnomeShellFocusSource(session, sink, timedelta(minutes=3), wanted)
    await source.start()
    try:
        yield source
    finally:
        await source.stop()


@desktop
def test_the_source_reports_the_focus_once_then_each_change(bus: SessionBus) -> None:
    async def scenario() -> None:
        extension = await FakeExtension(bus.address).start()
        extension.now = [REDDIT, "firefox", "", 4242]
        sink = ActivityRecorder()
        try:
            async with running(gnome_session(bus.address), sink) as source:
                first = await sink.wait_for("focus")
                assert first.value == Focus("firefox", REDDIT, pid=4242)
                assert source.health is Health.RUNNING
                assert "nudged's GNOME Shell extension" in source.reason

                extension.move(INSTAGRAM, "firefox", "", 4242)
                extension.move(INSTAGRAM, "firefox", "", 4242)  # said twice: reported once
                extension.move(NOTES, "org.gnome.TextEditor", "", 77)
                extension.move("", "", "", 0)
                await sink.wait_for("focus", lambda f: f is None)
                assert sink.values("focus") == [
                    Focus("firefox", REDDIT, pid=4242), Focus("firefox", INSTAGRAM, pid=4242),
                    Focus("org.gnome.TextEditor", NOTES, pid=77), None]

                mark = sink.mark()
                await source.refresh()
                again = await sink.wait_for("focus", since=mark)
                assert again.value is None, "refresh reports even an unchanged focus"
        finally:
            await extension.stop()

    run(scenario)


@desktop
def test_without_the_title_capability_titles_stay_out(bus: SessionBus) -> None:
    async def scenario() -> None:
        extension = await FakeExtension(bus.address).start()
        extension.now = [REDDIT, "firefox", "", 1]
        sink = ActivityRecorder()
        try:
            async with running(gnome_session(bus.address), sink,
                               frozenset({Capability.FOCUS})):
                await sink.wait_for("focus")
                extension.move(INSTAGRAM, "firefox", "", 1)  # only the title changed
                extension.move(NOTES, "gedit", "", 2)
                await sink.wait_for("focus", lambda f: f is not None and f.app == "gedit")
                assert sink.values("focus") == [Focus("firefox", pid=1), Focus("gedit", pid=2)]
        finally:
            await extension.stop()

    run(scenario)


@desktop
def test_the_extension_leaving_the_bus_fails_the_source_without_a_crash(
        bus: SessionBus) -> None:
    async def scenario() -> None:
        extension = await FakeExtension(bus.address).start()
        sink = ActivityRecorder()
        async with running(gnome_session(bus.address), sink) as source:
            await sink.wait_for("focus")
            await extension.stop()
            failed = await sink.wait_for("failed")
            assert "left the session bus" in failed.value
            assert source.health is Health.FAILED
        assert sink.values("failed") == [failed.value], "once"

    run(scenario)


@desktop
def test_an_extension_that_answers_in_another_shape_is_a_reason_not_a_crash(
        bus: SessionBus) -> None:
    async def scenario() -> None:
        extension = await FakeExtension(bus.address, signature="ss").start()
        source = GnomeShellFocusSource(gnome_session(bus.address), ActivityRecorder(),
                                       timedelta(minutes=3))
        try:
            with pytest.raises(GnomeShellUnavailable,
                               match="nudged gnome-extension install` again"):
                await source.start()
        finally:
            await source.stop()
            await extension.stop()

    run(scenario)


INSTALL_HINT = "run `nudged gnome-extension install`, then log out and back in"


@pytest.mark.parametrize(("info", "user_extensions", "expected"), [
    ({}, True, INSTALL_HINT),
    ({"state": Variant("d", 4.0)}, True, "refuses nudged's extension as made for another "
     "version: " + INSTALL_HINT),
    ({"state": Variant("d", 3.0), "error": Variant("s", "SyntaxError: oops")}, True,
     "failed in GNOME Shell: SyntaxError: oops; " + INSTALL_HINT),
    ({"state": Variant("d", 2.0)}, True, f"switched off: run `gnome-extensions enable {UUID}`"),
    ({"state": Variant("d", 6.0)}, False, "extensions are switched off for your account"),
    ({"state": Variant("d", 1.0)}, True, "enabled but not on the session bus"),
])
@desktop
def test_the_probe_says_exactly_what_to_do(bus: SessionBus, info: dict[str, Variant],
                                           user_extensions: bool, expected: str) -> None:
    async def scenario() -> None:
        shell = await FakeShell(bus.address, info, user_extensions).start()
        try:
            probe = await GnomeShellFocusSource.probe(gnome_session(bus.address))
        finally:
            await shell.stop()
        assert not probe.ok
        assert expected in probe.reason

    run(scenario)


@desktop
def test_the_probe_on_other_desktops_and_before_a_login(bus: SessionBus,
                                                         private_home: Path) -> None:
    async def scenario() -> None:
        elsewhere = await GnomeShellFocusSource.probe(
            gnome_session(bus.address, desktop="kde"))
        assert not elsewhere.ok and "not a GNOME Shell session" in elsewhere.reason

        missing = await GnomeShellFocusSource.probe(gnome_session(bus.address))
        assert INSTALL_HINT in missing.reason
        assert "only at login" in missing.reason

        # On X11 the x11 source sees the focus (and fullscreen windows): not used there.
        on_x11 = choose(await probe_all(gnome_session(bus.address, kind=SessionType.X11),
                                        [c for c in KNOWN_SOURCES if not isinstance(c, str)
                                         and c.name == "gnome-shell"]))
        assert ("gnome-shell", "not used in an X11 session") in \
            on_x11[Capability.FOCUS].tried

        (gnome.installed_dir({"HOME": str(private_home)})).mkdir(parents=True)
        waiting = await GnomeShellFocusSource.probe(gnome_session(bus.address))
        assert "has not loaded it yet: log out and back in" in waiting.reason

        extension = await FakeExtension(bus.address).start()
        try:
            found = await GnomeShellFocusSource.probe(gnome_session(bus.address))
        finally:
            await extension.stop()
        assert found.ok and FOCUS_NAME in found.reason

    run(scenario)


# --------------------------------------------------------------------------- GNOME Shell


def extension_cli(env: Mapping[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``nudged gnome-extension ARGS`` (``python -m nudged.gnomecli`` until the command is
    wired into ``nudged``)."""
    argv = ([*NUDGED, "gnome-extension", *args] if "gnome-extension" in cli.COMMANDS
            else [sys.executable, "-m", "nudged.gnomecli", *args])
    return subprocess.run(argv, env=dict(env), capture_output=True, text=True, timeout=60,
                          stdin=subprocess.DEVNULL)


def doctor(env: Mapping[str, str]) -> dict[str, Any]:
    proc = subprocess.run([*NUDGED, "doctor", "--json"], env=dict(env), capture_output=True,
                          text=True, timeout=60, stdin=subprocess.DEVNULL)
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


def tried(report: dict[str, Any], cap: str, source: str) -> str:
    return next(t["reason"] for t in report["capabilities"][cap]["tried"]
                if t["source"] == source)


@pytest.fixture
def shell() -> Iterator[GnomeShell]:
    require_gnome_shell()
    with GnomeShell() as gs:
        yield gs


def install(gs: GnomeShell, *args: str) -> str:
    proc = extension_cli(gs.env(), "install", *args)
    assert proc.returncode == 0, proc.stderr + proc.stdout
    return proc.stdout


def shell_session(gs: GnomeShell) -> Session:
    return Session(type=SessionType.WAYLAND, desktop="gnome", environ=gs.env())


def files_mentioning(folder: Path, text: str) -> list[Path]:
    """Regular files under ``folder`` whose bytes contain ``text``."""
    needle = text.encode()
    found = []
    for path in folder.rglob("*"):
        with contextlib.suppress(OSError):
            if path.is_file() and not path.is_symlink() and needle in path.read_bytes():
                found.append(path)
    return found


@desktop
def test_in_gnome_shell_the_installed_extension_tells_every_focus_and_title_change(
        shell: GnomeShell) -> None:
    said = install(shell)
    assert "log out and back in" in said
    assert UUID in shell.gsettings("get", "org.gnome.shell", "enabled-extensions")
    target = gnome.installed_dir(shell.env())
    assert "function init()" in (target / "extension.js").read_text(), "GNOME 43: legacy"

    shell.start()  # log in
    until(lambda: shell.has_owner(FOCUS_NAME), 20, f"{FOCUS_NAME} on the bus",
          shell.log_text)
    reddit = shell.foot(REDDIT, "firefox", settable_title=True)
    notes = shell.foot(NOTES, "org.gnome.TextEditor")
    shell.focus(reddit)

    async def scenario() -> None:
        sink = ActivityRecorder()
        async with running(shell_session(shell), sink) as source:
            first = await sink.wait_for("focus", timeout=REPORT_TIMEOUT)
            assert first.value == Focus("firefox", REDDIT, pid=reddit.pid)
            assert source.health is Health.RUNNING

            reddit.set_title(INSTAGRAM)  # a tab switch: only the title changes
            await sink.wait_for("focus", lambda f: f.title == INSTAGRAM,
                                timeout=REPORT_TIMEOUT)
            await asyncio.to_thread(shell.focus, notes)
            await sink.wait_for("focus", lambda f: f.title == NOTES, timeout=REPORT_TIMEOUT)
            await asyncio.to_thread(shell.focus, reddit)
            await sink.wait_for("focus", lambda f: f.title == INSTAGRAM and f.pid == reddit.pid,
                                since=2, timeout=REPORT_TIMEOUT)
            await asyncio.sleep(0.3)
            assert sink.values("focus") == [
                Focus("firefox", REDDIT, pid=reddit.pid),
                Focus("firefox", INSTAGRAM, pid=reddit.pid),
                Focus("org.gnome.TextEditor", NOTES, pid=notes.pid),
                Focus("firefox", INSTAGRAM, pid=reddit.pid),
            ]
            assert sink.of("failed") == []

    run(scenario)

    # What it offers on the bus: the focused window's facts, nothing more.
    xml = shell.gdbus("--dest", FOCUS_NAME, "--object-path", FOCUS_PATH, "--method",
                      "org.freedesktop.DBus.Introspectable.Introspect")
    for member in ("GetFocus", "FocusChanged", "Version"):
        assert member in xml
    assert xml.count("<method name=") == 1 + 1 + 3 + 2, "GetFocus + Introspect + " \
        "Properties' Get/GetAll/Set + Peer's Ping/GetMachineId"
    assert shell.running
    # Privacy: the titles went nowhere on disk (the shell's own files included).
    for title in ("Dive into anything", "Instagram"):
        assert files_mentioning(shell.home, title) == []
        assert files_mentioning(shell.runtime, title) == []


@desktop
def test_the_extension_switched_off_or_gnome_shell_gone_fails_the_source_and_doctor_says_why(
        shell: GnomeShell) -> None:
    install(shell)
    shell.start()
    until(lambda: shell.has_owner(FOCUS_NAME), 20, f"{FOCUS_NAME} on the bus", shell.log_text)
    shell.focus(shell.foot(REDDIT, "firefox"))

    def gnome_extensions(*args: str) -> None:
        proc = subprocess.run(["gnome-extensions", *args], env=shell.env(),
                              capture_output=True, text=True, timeout=30)
        assert proc.returncode == 0, proc.stderr

    async def scenario() -> None:
        sink = ActivityRecorder()
        async with running(shell_session(shell), sink) as source:
            await sink.wait_for("focus", timeout=REPORT_TIMEOUT)
            await asyncio.to_thread(gnome_extensions, "disable", UUID)
            failed = await sink.wait_for("failed", timeout=REPORT_TIMEOUT)
            assert "left the session bus" in failed.value
            assert source.health is Health.FAILED

        probe = await GnomeShellFocusSource.probe(shell_session(shell))
        assert f"switched off: run `gnome-extensions enable {UUID}`" in probe.reason

        # Total screen time goes on: idle still comes from mutter, focus from nobody.
        choices = choose(await probe_all(shell_session(shell)))
        assert choices[Capability.IDLE].source == "mutter"
        assert choices[Capability.FOCUS].source is None

        await asyncio.to_thread(gnome_extensions, "enable", UUID)
        sink = ActivityRecorder()
        async with running(shell_session(shell), sink) as source:
            back = await sink.wait_for("focus", timeout=REPORT_TIMEOUT)
            assert back.value.title == REDDIT
            # GNOME Shell crashes: the name goes with it.
            await asyncio.to_thread(shell.kill, signal.SIGKILL)
            failed = await sink.wait_for("failed", timeout=REPORT_TIMEOUT)
            assert "left the session bus" in failed.value or "closed" in failed.value
            assert source.health is Health.FAILED

    run(scenario)


@desktop
def test_doctor_on_gnome_wayland_says_what_to_run_and_then_finds_the_extension(
        shell: GnomeShell) -> None:
    shell.start()
    env = shell.env()
    report = doctor(env)
    assert (report["session"], report["desktop"]) == ("wayland", "gnome")
    assert report["capabilities"]["idle"]["source"] == "mutter", "screen time still counts"
    assert report["capabilities"]["focus"]["source"] is None
    reason = tried(report, "focus", "gnome-shell")
    assert INSTALL_HINT in reason and "only at login" in reason
    text = subprocess.run([*NUDGED, "doctor"], env=env, capture_output=True, text=True,
                          timeout=60).stdout
    assert "`nudged gnome-extension install`" in text

    install(shell)
    assert "has not loaded it yet: log out and back in" in tried(doctor(env), "focus",
                                                                 "gnome-shell")
    shell.restart()  # log out and back in
    until(lambda: shell.has_owner(FOCUS_NAME), 20, f"{FOCUS_NAME} on the bus", shell.log_text)
    report = doctor(env)
    assert report["capabilities"]["focus"]["source"] == "gnome-shell"
    assert report["capabilities"]["title"]["source"] == "gnome-shell"
    assert report["capabilities"]["idle"]["source"] == "mutter"

    proc = extension_cli(env, "uninstall")
    assert proc.returncode == 0, proc.stderr
    assert not gnome.installed_dir(env).exists()
    until(lambda: not shell.has_owner(FOCUS_NAME), 10, "the extension to leave the bus")
    assert UUID not in shell.gsettings("get", "org.gnome.shell", "enabled-extensions")


@desktop
def test_an_extension_gnome_shell_refuses_or_that_breaks_is_explained(
        shell: GnomeShell) -> None:
    # The format of GNOME 45+ on this GNOME 43: the shell refuses it as out of date.
    install(shell, "--shell-version", "46")
    shell.start()
    env = shell.env()
    reason = tried(doctor(env), "focus", "gnome-shell")
    assert "made for another version" in reason and "nudged gnome-extension install" in reason

    # A broken extension: GNOME Shell says why, and so does doctor.
    install(shell)
    target = gnome.installed_dir(env) / "extension.js"
    target.write_text(target.read_text().replace("function init()", "function init( {"))
    shell.restart()
    report = doctor(env)
    reason = tried(report, "focus", "gnome-shell")
    assert "failed in GNOME Shell: expected property name" in reason, reason
    assert report["capabilities"]["idle"]["source"] == "mutter"
    assert shell.running, "a broken extension does not take GNOME Shell down"

    install(shell)
    shell.restart()
    until(lambda: shell.has_owner(FOCUS_NAME), 20, f"{FOCUS_NAME} on the bus", shell.log_text)
    assert doctor(env)["capabilities"]["focus"]["source"] == "gnome-shell"


# --------------------------------------------------------------------------- nudged run


DESKTOP_CONFIG = """
    [core]
    idle_after = "30m"
    max_per_hour = 60
    notification_timeout = "5m"

    [plugins.social_media]
    [[plugins.social_media.limits]]
    category = "social"
    daily = "1m"
"""
LIMIT_TITLE = "1 minute of social media today"
#: Seconds the limit nudge may come after the minute on social media is full.
ON_TIME = 4.0


def usage(env: Mapping[str, str]) -> dict[str, Any]:
    proc = subprocess.run([*NUDGED, "usage", "--json"], env=dict(env), capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0, proc.stderr
    return dict(json.loads(proc.stdout))


@desktop
def test_on_gnome_wayland_a_minute_of_social_media_brings_the_limit_nudge(
        shell: GnomeShell, run_nudged: Callable[..., Nudged], tmp_path: Path) -> None:
    install(shell)
    shell.start()
    until(lambda: shell.has_owner(FOCUS_NAME), 20, f"{FOCUS_NAME} on the bus", shell.log_text)
    until(lambda: shell.has_owner(testbed.NOTIFICATIONS), 20,
          "GNOME Shell's notification service", shell.log_text)
    env = shell.env(NUDGED_AW_URL=f"http://127.0.0.1:{testbed.free_tcp_port()}")
    others = sorted({ep.name for ep in entry_points(group="nudged")} - {"social_media"})
    env["NUDGED_DISABLE_PLUGINS"] = ",".join(others)
    path = write_config(env, textwrap.dedent(DESKTOP_CONFIG))

    with testbed.NotifyMonitor(shell.bus_address) as monitor:
        browser = shell.foot(REDDIT, "firefox", settable_title=True)
        terminal = shell.foot("sam@desk: ~/notes", "foot")
        shell.focus(browser)
        daemon = run_nudged(env, "--config", str(path))
        chosen = daemon.wait_event("activity sources chosen", timeout=30)
        start = time.time()  # the extension reported Reddit just before this
        assert (chosen["focus"], chosen["title"], chosen["idle"]) == (
            "gnome-shell", "gnome-shell", "mutter"), chosen

        def at(offset: float) -> None:
            time.sleep(max(0.0, start + offset - time.time()))

        at(20)
        browser.set_title(LOFI)          # a tab switch to YouTube: not social
        at(30)
        browser.set_title(REDDIT)        # and back to Reddit
        at(40)
        shell.focus(terminal)            # work for ten seconds
        at(50)
        back = shell.focus(browser)
        social_so_far = 20 + 10
        due = back + (60 - social_so_far)
        assert _nudges(monitor) == [], daemon.diagnostics()
        call = monitor.wait_for(lambda c: c.app_name == "nudged" and c.summary == LIMIT_TITLE,
                                due - time.time() + 20)
        assert call.id is not None, call.error
        late = call.time - due
        assert -3.0 <= late <= ON_TIME, f"the limit nudge came {late:+.2f}s after the minute"
        assert call.labels == ["OK", "5 more minutes"]

        code, _took = daemon.terminate(within=5.0)
        assert code == 0, daemon.diagnostics()
    assert "Traceback" not in daemon.log_text()

    day = usage(env)
    by_app, by_site = day["by_app"], day["by_site"]
    # (A moment at start may be "(unknown)": present before the first focus report.)
    assert set(by_app) - {"(unknown)"} == {"firefox", "foot"}, day
    assert by_app.get("(unknown)", 0) <= 0.05, day
    assert 55 / 60 <= by_app["firefox"] <= 75 / 60, day
    assert 7 / 60 <= by_app["foot"] <= 13 / 60, day
    assert 55 / 60 <= by_site["reddit.com"] <= 65 / 60, day
    assert 7 / 60 <= by_site["youtube.com"] <= 13 / 60, day
    # The ledger keeps apps and sites; the titles stayed in memory.
    for title in ("Dive into anything", "Lo-fi beats"):
        assert files_mentioning(Path(env["XDG_STATE_HOME"]), title) == []
        assert files_mentioning(shell.home, title) == []


def _nudges(monitor: testbed.NotifyMonitor) -> list[testbed.NotifyCall]:
    return [c for c in monitor.notifies() if c.app_name == "nudged"]

