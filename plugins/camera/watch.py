"""Who has a camera open, watched with inotify; nothing polls.

The kernel tells an inotify watch on a device node about every open of it and every
last close of an open file (``IN_OPEN``, ``IN_CLOSE_*``), whoever does it; who holds
the device then is read from ``/proc/PID/fd``. Only the person's own processes can be
read there, which is what matters: a call app runs as them. A watch on the folder
(``IN_CREATE``, ``IN_DELETE``, and ``IN_ATTRIB`` for udev granting access after the
node appears) picks up a camera plugged in later.

A call app opens and closes its camera several times while it starts (probing formats
and sizes), so one burst of events gives one scan, ``DEBOUNCE`` after its first event,
and the camera counts as free only once it has stayed closed for ``SETTLE``: the
nudges held during a call are not let through in the gap between two probes.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import fnmatch
import glob
import os
import struct
from asyncio import AbstractEventLoop, TimerHandle
from collections.abc import Callable, Iterable
from typing import Any

import structlog

__all__ = ["DEBOUNCE", "SETTLE", "CameraWatch", "Inotify"]

DEBOUNCE = 0.2  # seconds from the first event of a burst to the scan
SETTLE = 0.5  # seconds a camera stays closed before it counts as free
#: The kernel keeps this much of a process name (``/proc/PID/comm``).
COMM_LENGTH = 15

# <sys/inotify.h>
IN_ATTRIB = 0x00000004
IN_CLOSE_WRITE = 0x00000008
IN_CLOSE_NOWRITE = 0x00000010
IN_OPEN = 0x00000020
IN_MOVED_FROM = 0x00000040
IN_MOVED_TO = 0x00000080
IN_CREATE = 0x00000100
IN_DELETE = 0x00000200
IN_Q_OVERFLOW = 0x00004000
IN_IGNORED = 0x00008000
IN_ONLYDIR = 0x01000000
DEVICE_EVENTS = IN_OPEN | IN_CLOSE_WRITE | IN_CLOSE_NOWRITE
FOLDER_EVENTS = IN_CREATE | IN_DELETE | IN_ATTRIB | IN_MOVED_FROM | IN_MOVED_TO | IN_ONLYDIR
_EVENT = struct.Struct("iIII")  # wd, mask, cookie, len; then len bytes of name


class Inotify:
    """An inotify instance through libc's three calls (ctypes: no dependency).

    Raises :class:`OSError` where inotify is not available."""

    def __init__(self) -> None:
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            self._init = libc.inotify_init1
            self._add = libc.inotify_add_watch
            self._rm = libc.inotify_rm_watch
        except (OSError, AttributeError) as exc:
            raise OSError(errno.ENOSYS, f"no inotify in this C library: {exc}") from None
        self._add.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_uint32]
        self._rm.argtypes = [ctypes.c_int, ctypes.c_int]
        self.fd = self._call(self._init, os.O_NONBLOCK | os.O_CLOEXEC)

    @staticmethod
    def _call(function: Any, *args: Any) -> int:
        result = int(function(*args))
        if result < 0:
            code = ctypes.get_errno()
            raise OSError(code, os.strerror(code))
        return result

    def add(self, path: str, mask: int) -> int:
        """Watch ``path``; returns the watch descriptor (the same one for the same file)."""
        return self._call(self._add, self.fd, os.fsencode(path), mask)

    def remove(self, wd: int) -> None:
        with contextlib.suppress(OSError):  # already gone with its file
            self._call(self._rm, self.fd, wd)

    def read(self) -> list[tuple[int, int, str]]:
        """Every event queued now, as ``(wd, mask, name)``."""
        events: list[tuple[int, int, str]] = []
        while True:
            try:
                data = os.read(self.fd, 64 * 1024)
            except BlockingIOError:
                return events
            if not data:
                return events
            offset = 0
            while offset + _EVENT.size <= len(data):
                wd, mask, _cookie, length = _EVENT.unpack_from(data, offset)
                offset += _EVENT.size
                name = data[offset:offset + length].rstrip(b"\0")
                offset += length
                events.append((wd, mask, os.fsdecode(name)))

    def close(self) -> None:
        with contextlib.suppress(OSError):
            os.close(self.fd)


class CameraWatch:
    """Which apps hold a device matching ``devices`` (a glob) open, kept up to date.

    ``users`` are their names (``/proc/PID/comm``), nudged itself and the ``ignore``d
    ones left out; empty when the camera is free. ``on_free`` runs when the last of
    them has let go (and stayed away for ``settle`` seconds). ``scans`` counts the
    reads of ``/proc``: each follows an event, never a clock.
    """

    def __init__(self, devices: str, *, ignore: Iterable[str] = (),
                 on_free: Callable[[], None] = lambda: None, log: Any = None,
                 proc: str = "/proc", own_pid: int | None = None,
                 debounce: float = DEBOUNCE, settle: float = SETTLE) -> None:
        self.pattern = devices
        self.folder, self.names = os.path.split(devices)
        self.ignore = {name[:COMM_LENGTH].casefold() for name in ignore}
        self.on_free = on_free
        self.log = log if log is not None else structlog.get_logger("nudged.plugin.camera")
        self.proc = proc
        self.own_pid = os.getpid() if own_pid is None else own_pid
        self.debounce = debounce
        self.settle = settle
        self.users: tuple[str, ...] = ()
        self.scans = 0
        self._loop: AbstractEventLoop | None = None
        self._inotify: Inotify | None = None
        self._folder_wd: int | None = None
        self._watched: dict[str, int] = {}  # device path -> watch descriptor
        self._targets: frozenset[str] = frozenset()  # what /proc/PID/fd links name
        self._scan_timer: TimerHandle | None = None
        self._settle_timer: TimerHandle | None = None
        self._warned: set[str] = set()

    # -- lifecycle --------------------------------------------------------------------
    def start(self, loop: AbstractEventLoop) -> bool:
        """Watch, and see who holds a camera now. ``False`` (logged once) where
        nothing can be watched; ``users`` then stays empty."""
        try:
            inotify = Inotify()
        except OSError as exc:
            self._warn("inotify", "cannot watch the camera: inotify is not available",
                       error=exc.strerror or str(exc))
            return False
        try:
            self._folder_wd = inotify.add(self.folder, FOLDER_EVENTS)
        except OSError as exc:
            inotify.close()
            self._warn("folder", "cannot watch for cameras in this folder",
                       folder=self.folder, error=exc.strerror or str(exc))
            return False
        self._inotify = inotify
        self._loop = loop
        loop.add_reader(inotify.fd, self._on_readable)
        self._sync()
        if not self._watched:
            self.log.info("no camera yet; watching for one", devices=self.pattern)
        self._scan()
        return True

    def stop(self) -> None:
        """Remove the reader and the timers, close the inotify fd. Never raises."""
        for timer in (self._scan_timer, self._settle_timer):
            if timer is not None:
                timer.cancel()
        self._scan_timer = self._settle_timer = None
        inotify, self._inotify = self._inotify, None
        if inotify is not None:
            if self._loop is not None:
                with contextlib.suppress(Exception):
                    self._loop.remove_reader(inotify.fd)
            inotify.close()
        self._watched.clear()
        self._folder_wd = None

    # -- events -----------------------------------------------------------------------
    def _on_readable(self) -> None:
        if self._inotify is None:
            return
        try:
            events = self._inotify.read()
        except OSError as exc:
            self._warn("read", "cannot read camera events", error=exc.strerror or str(exc))
            return
        changed = resync = False
        for wd, mask, name in events:
            if mask & IN_Q_OVERFLOW:  # events were lost: look at everything again
                changed = resync = True
            elif wd == self._folder_wd:
                if fnmatch.fnmatchcase(name, self.names):
                    changed = resync = True
            elif mask & IN_IGNORED:  # the device node is gone, and its watch with it
                self._watched = {p: w for p, w in self._watched.items() if w != wd}
                changed = resync = True
            elif mask & DEVICE_EVENTS:
                changed = True
        if resync:
            self._sync()
        if changed:
            self._soon()

    def _soon(self) -> None:
        """Scan once the burst this event belongs to is over; an event also restarts
        the wait before a free camera counts as free."""
        assert self._loop is not None
        if self._settle_timer is not None:
            self._settle_timer.cancel()
            self._settle_timer = None
        if self._scan_timer is None:
            self._scan_timer = self._loop.call_later(self.debounce, self._scan)

    def _scan(self) -> None:
        self._scan_timer = None
        users = self.holders()
        if users:
            if self._settle_timer is not None:
                self._settle_timer.cancel()
                self._settle_timer = None
            if users != self.users:
                self.log.info("camera in use", apps=", ".join(users))
            self.users = users
        elif self.users and self._settle_timer is None and self._loop is not None:
            self._settle_timer = self._loop.call_later(self.settle, self._freed)

    def _freed(self) -> None:
        """No event for ``settle`` seconds since a scan found the camera free."""
        self._settle_timer = None
        self.users = ()
        self.log.info("camera free")
        try:
            self.on_free()
        except Exception as exc:  # never into the event loop
            self.log.warning("camera: releasing held nudges failed",
                             error=f"{type(exc).__name__}: {exc}")

    # -- what is watched, and who holds it ------------------------------------------
    def _sync(self) -> None:
        """Watch every device the glob matches now, and stop watching the gone ones."""
        assert self._inotify is not None
        paths = sorted(glob.glob(self.pattern))
        for path in set(self._watched) - set(paths):
            wd = self._watched.pop(path)
            if wd not in self._watched.values():  # a link and its target share one watch
                self._inotify.remove(wd)
        for path in paths:
            if path in self._watched:
                continue
            try:
                self._watched[path] = self._inotify.add(path, DEVICE_EVENTS)
            except OSError as exc:
                # Often udev has not granted access yet: IN_ATTRIB brings us back.
                self._warn(f"device:{path}:{exc.errno}", "cannot watch a camera; its use "
                           "is not seen", device=path, error=exc.strerror or str(exc))
        self._targets = frozenset(os.path.realpath(path) for path in paths)

    def holders(self) -> tuple[str, ...]:
        """The names of the apps that hold a watched device open now (read from
        ``/proc``; sorted, each once), but nudged itself and the ignored ones."""
        self.scans += 1
        targets = self._targets
        if not targets:
            return ()
        try:
            pids = [entry for entry in os.listdir(self.proc) if entry.isdigit()]
        except OSError as exc:
            self._warn("proc", "cannot list processes; camera use is not seen",
                       proc=self.proc, error=exc.strerror or str(exc))
            return ()
        names: set[str] = set()
        ignored: set[str] = set()
        for pid in pids:
            if int(pid) == self.own_pid or not self._holds(pid, targets):
                continue
            name = self._name(pid)
            (ignored if name.casefold() in self.ignore else names).add(name)
        if ignored:
            self.log.debug("camera held by ignored apps", apps=", ".join(sorted(ignored)))
        return tuple(sorted(names))

    def _holds(self, pid: str, targets: frozenset[str]) -> bool:
        folder = os.path.join(self.proc, pid, "fd")
        try:
            fds = os.listdir(folder)
        except OSError:  # another user's process, or one that just ended
            return False
        for fd in fds:
            try:
                if os.readlink(os.path.join(folder, fd)) in targets:
                    return True
            except OSError:
                continue
        return False

    def _name(self, pid: str) -> str:
        try:
            with open(os.path.join(self.proc, pid, "comm"), encoding="utf-8",
                      errors="replace") as file:
                return file.read().strip() or f"process {pid}"
        except OSError:
            return f"process {pid}"

    def _warn(self, key: str, event: str, **fields: str) -> None:
        """Log a problem once per watch, not at every event."""
        if key not in self._warned:
            self._warned.add(key)
            self.log.warning(event, **fields)
