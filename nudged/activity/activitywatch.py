"""Focus, titles, URLs and AFK from a local ActivityWatch server (aw-server).

ActivityWatch's browser extension (aw-watcher-web) is the only place on a Linux
desktop that knows the URL of the focused tab, so this is the URL source. Its window
and AFK watchers make it a fallback for focus, titles and idle where no compositor
source works.

Nothing here polls. The server is asked at *decision points* (:meth:`current`,
:meth:`afk`), at :meth:`start` and at :meth:`refresh` (after a resume), and each
answer that differs from the last report is reported to the sink. Between those
moments the source holds no connection and no timer.

What ActivityWatch's data means, and why the priorities are what they are:

* ``aw-watcher-window_HOST`` (data ``app``, ``title``): its watcher pre-merges
  heartbeats in the client and commits them every ``commit_interval`` (10 s by
  default), so the server's newest window event can lag the real focus by about
  that much. Good enough to judge minutes of use; a compositor source is better,
  hence FOCUS/TITLE only at priority 60.
* ``aw-watcher-afk_HOST`` (data ``status`` "afk"/"not-afk"): follows the
  watcher's own timeout (3 minutes by default), not nudged's ``idle_after``; the
  event's timestamp is the last input (afk) or the return (not-afk). Hence IDLE at
  85, just before logind's idle hint.
* ``aw-watcher-web-<browser>_HOST`` (data ``url``, ``title``): one bucket per
  browser. Its newest tab event belongs to the focused window when the window's
  title starts with the tab's title (browsers append " — Mozilla Firefox" or
  " - Chromium"); only then is its URL reported.

Buckets are chosen by type (``currentwindow``, ``afkstatus``, ``web.tab.current``)
or id prefix, preferring those whose hostname is the server's own: buckets synced
from other devices carry theirs. Events whose end is older than ``stale_after``
mean the watcher stopped, and count as "unknown".

HTTP is a tiny asyncio client (stdlib only): aw-server is local, answers small JSON
documents, and closes the connection after each request, so ``aw-client`` (which
pulls ``requests`` and ``persist-queue``) would only add weight. The server address
comes from ``NUDGED_AW_URL`` (default ``http://127.0.0.1:5600``).
"""

from __future__ import annotations

import asyncio
import enum
import json
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, Literal, TypeVar
from urllib.parse import quote, urlsplit

import structlog

from nudged.activity.base import (
    ActivitySink,
    ActivitySource,
    Capability,
    Focus,
    Health,
    Probe,
    Session,
)
from nudged.activity.common import LastFocus, close_writer, getenv, utcnow
from nudged.errors import NudgedError

log = structlog.get_logger("nudged.activity.activitywatch")

__all__ = [
    "DEFAULT_URL",
    "ENV_URL",
    "ActivityWatchSource",
    "ActivityWatchUnavailable",
    "AwBuckets",
    "AwHttpError",
    "aw_url",
    "http_get_json",
]

ENV_URL = "NUDGED_AW_URL"
DEFAULT_URL = "http://127.0.0.1:5600"

#: The probe's budget per request ("answers within about half a second").
PROBE_REQUEST_TIMEOUT = 0.5
#: A query at a decision point: aw-server is local, but SQLite can be busy.
REQUEST_TIMEOUT = 2.0
#: An event that ended longer ago than this means its watcher is not running.
STALE_AFTER = timedelta(minutes=2)
#: How long the bucket list is trusted before it is read again (new browsers appear).
BUCKETS_TTL = 300.0
#: aw-server's answers here are small; anything bigger is not aw-server.
MAX_RESPONSE = 4 * 1024 * 1024

WINDOW_TYPE = "currentwindow"
AFK_TYPE = "afkstatus"
WEB_TYPE = "web.tab.current"


class ActivityWatchUnavailable(NudgedError):
    """aw-server cannot be used here; the message says why."""


class AwHttpError(Exception):
    """aw-server answered, but not with 200 OK (or not with HTTP at all)."""

    def __init__(self, status: int, detail: str) -> None:
        super().__init__(f"HTTP {status}: {detail}" if status else detail)
        self.status = status


# --------------------------------------------------------------------------- HTTP


def aw_url(session: Session) -> str:
    """The server address: the session's environment, then ours, then the default."""
    return (getenv(session, ENV_URL) or DEFAULT_URL).rstrip("/")


def _dechunk(body: bytes) -> bytes:
    """Decode ``Transfer-Encoding: chunked`` (a server may use it even on close)."""
    out = bytearray()
    pos = 0
    while True:
        line_end = body.find(b"\r\n", pos)
        if line_end < 0:
            raise AwHttpError(0, "truncated chunked response")
        size = int(body[pos:line_end].split(b";", 1)[0].strip() or b"0", 16)
        pos = line_end + 2
        if size == 0:
            return bytes(out)
        if pos + size > len(body):
            raise AwHttpError(0, "truncated chunked response")
        out += body[pos : pos + size]
        pos += size + 2


def _split_head(raw: bytes) -> tuple[int, dict[str, str], bytes] | None:
    """Status, headers (lower-case names) and the body so far; None until the head
    is complete."""
    head, sep, body = raw.partition(b"\r\n\r\n")
    if not sep:
        if raw and not b"HTTP/".startswith(raw[:5]):
            raise AwHttpError(0, "not an HTTP response")
        return None
    if not head.startswith(b"HTTP/"):
        raise AwHttpError(0, "not an HTTP response")
    lines = head.decode("iso-8859-1").split("\r\n")
    try:
        status = int(lines[0].split()[1])
    except (IndexError, ValueError) as exc:
        raise AwHttpError(0, f"bad status line {lines[0]!r}") from exc
    headers: dict[str, str] = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return status, headers, body


def _is_chunked(headers: Mapping[str, str]) -> bool:
    return "chunked" in headers.get("transfer-encoding", "").lower()


def _complete(raw: bytes) -> bool:
    """Has the whole response arrived? Lets us stop reading even if a server keeps
    the connection open despite ``Connection: close``."""
    split = _split_head(raw)
    if split is None:
        return False
    _status, headers, body = split
    if _is_chunked(headers):
        return body.endswith(b"0\r\n\r\n")
    if "content-length" in headers:
        return len(body) >= int(headers["content-length"])
    return False  # delimited by the end of the connection


def _parse_response(raw: bytes) -> tuple[int, bytes]:
    split = _split_head(raw)
    if split is None:
        raise AwHttpError(0, "not an HTTP response" if raw else "empty response")
    status, headers, body = split
    if _is_chunked(headers):
        body = _dechunk(body)
    elif "content-length" in headers:
        length = int(headers["content-length"])
        if len(body) < length:
            raise AwHttpError(status, "truncated response")
        body = body[:length]
    return status, body


async def http_get_json(base: str, path: str, timeout: float) -> Any:
    """``GET base+path`` and decode the JSON answer, all within ``timeout``.

    One request per connection (``Connection: close``), read to EOF. Raises OSError
    (nothing listens, connection reset), TimeoutError, AwHttpError (not 200, not
    HTTP) or ValueError (not JSON).
    """
    parts = urlsplit(base)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"{ENV_URL} must be an http:// or https:// URL, not {base!r}")
    https = parts.scheme == "https"
    port = parts.port or (443 if https else 80)
    target = (parts.path.rstrip("/") + path) or "/"
    host_header = parts.netloc.rpartition("@")[2]
    request = (
        f"GET {target} HTTP/1.1\r\nHost: {host_header}\r\nAccept: application/json\r\n"
        "User-Agent: nudged\r\nConnection: close\r\n\r\n"
    ).encode()

    async def exchange() -> bytes:
        reader, writer = await asyncio.open_connection(
            parts.hostname, port, ssl=_tls_context() if https else None
        )
        try:
            writer.write(request)
            await writer.drain()
            raw = bytearray()
            while chunk := await reader.read(65536):
                raw += chunk
                if len(raw) > MAX_RESPONSE:
                    raise AwHttpError(0, f"answer larger than {MAX_RESPONSE} bytes")
                if _complete(bytes(raw)):
                    break
            return bytes(raw)
        finally:
            await close_writer(writer)

    raw = await asyncio.wait_for(exchange(), timeout)
    status, body = _parse_response(raw)
    if status != 200:
        detail = body[:200].decode("utf-8", "replace").strip()
        raise AwHttpError(status, f"GET {target}: {detail}")
    return json.loads(body)


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer in time"
    if isinstance(exc, ConnectionRefusedError):
        return "connection refused"
    return str(exc) or type(exc).__name__


_T = TypeVar("_T")


class _Failed(enum.Enum):
    """Marks a query that failed (as opposed to one that answered "nothing known")."""

    FAILED = "failed"


_FAILED: Literal[_Failed.FAILED] = _Failed.FAILED


# --------------------------------------------------------------------------- buckets


def _bucket_kind(bucket_id: str, meta: Mapping[str, Any]) -> str | None:
    kind = str(meta.get("type", ""))
    if kind == WINDOW_TYPE or bucket_id.startswith("aw-watcher-window"):
        return "window"
    if kind == AFK_TYPE or bucket_id.startswith("aw-watcher-afk"):
        return "afk"
    if kind == WEB_TYPE or bucket_id.startswith("aw-watcher-web"):
        return "web"
    return None


@dataclass(frozen=True)
class AwBuckets:
    """The buckets this source reads: one window, one AFK, any number of web tabs."""

    window: str | None
    afk: str | None
    web: tuple[str, ...]

    @classmethod
    def choose(cls, buckets: Mapping[str, Any], hostname: str | None) -> AwBuckets:
        """Prefer the server's own host (synced buckets of other devices carry
        theirs), then the most recently updated."""
        found: dict[str, list[tuple[bool, str, str]]] = {"window": [], "afk": [], "web": []}
        for bucket_id, meta in buckets.items():
            meta = meta if isinstance(meta, Mapping) else {}
            kind = _bucket_kind(str(bucket_id), meta)
            if kind is not None:
                own = hostname is not None and meta.get("hostname") == hostname
                found[kind].append((own, str(meta.get("last_updated") or ""), str(bucket_id)))
        for entries in found.values():
            entries.sort(reverse=True)

        def best(kind: str) -> str | None:
            return found[kind][0][2] if found[kind] else None

        web = found["web"]
        if any(own for own, _, _ in web):
            web = [entry for entry in web if entry[0]]
        return cls(best("window"), best("afk"), tuple(entry[2] for entry in web))

    def describe(self) -> str:
        parts = [f"window bucket {self.window}" if self.window else "no window bucket"]
        parts.append(f"afk bucket {self.afk}" if self.afk else "no afk bucket")
        parts.append(f"{len(self.web)} web bucket(s)" if self.web else "no web bucket")
        return ", ".join(parts)


@dataclass(frozen=True)
class _Event:
    start: datetime
    end: datetime
    data: Mapping[str, Any]


def _parse_time(text: str) -> datetime:
    at = datetime.fromisoformat(text)
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _parse_event(raw: Any) -> _Event | None:
    if not isinstance(raw, Mapping):
        return None
    try:
        start = _parse_time(str(raw["timestamp"]))
        duration = float(raw.get("duration") or 0.0)
    except (KeyError, TypeError, ValueError):
        return None
    data = raw.get("data")
    return _Event(start, start + timedelta(seconds=max(0.0, duration)),
                  data if isinstance(data, Mapping) else {})


def tab_matches(window_title: str, tab_title: str) -> bool:
    """A browser window's title is its active tab's title plus the browser's name."""
    return bool(tab_title) and window_title.startswith(tab_title)


def _tls_context() -> Any:
    """TLS only for an https server address; the daemon does not load ssl otherwise."""
    import ssl

    return ssl.create_default_context()


# --------------------------------------------------------------------------- source


class ActivityWatchSource(ActivitySource):
    """URL (the only source of it), and focus/title/AFK as a fallback, from aw-server."""

    name: ClassVar[str] = "activitywatch"
    capabilities: ClassVar[frozenset[Capability]] = frozenset(
        {Capability.FOCUS, Capability.TITLE, Capability.URL, Capability.IDLE}
    )
    priority: ClassVar[int] = 60
    #: Per capability: the only URL source; a lagging fallback for focus and titles;
    #: AFK on the watcher's own timeout, only better than logind's idle hint.
    priorities: ClassVar[Mapping[Capability, int]] = {
        Capability.URL: 10,
        Capability.FOCUS: 60,
        Capability.TITLE: 60,
        Capability.IDLE: 85,
    }

    def __init__(
        self,
        session: Session,
        sink: ActivitySink,
        idle_after: timedelta,
        wanted: frozenset[Capability] | None = None,
        *,
        url: str | None = None,
        now: Callable[[], datetime] | None = None,
        request_timeout: float = REQUEST_TIMEOUT,
        stale_after: timedelta = STALE_AFTER,
    ) -> None:
        super().__init__(session, sink, idle_after, wanted)
        self.url = (url or aw_url(session)).rstrip("/")
        self._now = now or utcnow
        self.request_timeout = request_timeout
        self.stale_after = stale_after
        self._hostname: str | None = None
        self._buckets: AwBuckets | None = None
        self._buckets_read = 0.0  # time.monotonic() of the last bucket list
        self._last_focus = LastFocus()
        self._afk: bool | None = None
        self._running = False
        self._lost_reason: str | None = None

    # -- probe --------------------------------------------------------------------------
    @classmethod
    async def probe(cls, session: Session) -> Probe:
        url = aw_url(session)
        try:
            info = await http_get_json(url, "/api/0/info", PROBE_REQUEST_TIMEOUT)
            buckets = await http_get_json(url, "/api/0/buckets/", PROBE_REQUEST_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            return Probe.no(f"no aw-server answers at {url} ({_describe(exc)})")
        except (AwHttpError, ValueError) as exc:
            return Probe.no(f"{url} does not answer like aw-server: {_describe(exc)}")
        if not isinstance(info, Mapping) or not isinstance(buckets, Mapping):
            return Probe.no(f"{url} does not answer like aw-server")
        chosen = AwBuckets.choose(buckets, _hostname_of(info))
        if chosen.window is None:
            return Probe.no(
                f"aw-server at {url} has no window bucket (is aw-watcher-window running?)"
            )
        version = info.get("version", "?")
        return Probe.yes(f"aw-server {version} at {url}: {chosen.describe()}")

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        try:
            buckets = await self._read_buckets()
        except (OSError, TimeoutError, AwHttpError, ValueError) as exc:
            raise ActivityWatchUnavailable(
                f"aw-server at {self.url}: {_describe(exc)}"
            ) from exc
        if buckets.window is None and buckets.afk is None:
            raise ActivityWatchUnavailable(
                f"aw-server at {self.url} has no window or afk bucket"
            )
        self._running = True
        self._lost_reason = None
        await self._report(force=True)
        if self._lost_reason is not None:  # gone while we asked: a failed start
            self._running = False
            raise ActivityWatchUnavailable(self._lost_reason)
        self.health = Health.RUNNING
        self.reason = f"aw-server at {self.url}: {buckets.describe()}"

    async def stop(self) -> None:
        """Nothing to close: no connection is held between questions."""
        self._running = False
        if self.health is Health.RUNNING:
            self.health = Health.STOPPED

    async def refresh(self) -> None:
        """Read the bucket list and the newest events afresh, and report them."""
        self._buckets = None
        await self._report(force=True)

    # -- decision points ----------------------------------------------------------------
    async def current(self) -> Focus | None:
        """What has the focus according to ActivityWatch, with the tab's URL if known.

        None when nothing is known (no window bucket, the watcher stopped, the server
        is unreachable). A change from the last report is also reported to the sink.
        """
        focus = await self._guarded(self._current, "window")
        if focus is _FAILED:
            return None
        self._report_focus(focus, force=False)
        return focus

    async def afk(self) -> bool | None:
        """Is the person away according to aw-watcher-afk? None when unknown."""
        state = await self._guarded(self._afk_state, "afk")
        if state is _FAILED or state is None:
            return None
        afk, at = state
        self._report_afk(afk, at, force=False)
        return afk

    # -- queries ------------------------------------------------------------------------
    async def _read_buckets(self) -> AwBuckets:
        if self._hostname is None:
            info = await http_get_json(self.url, "/api/0/info", self.request_timeout)
            self._hostname = _hostname_of(info) if isinstance(info, Mapping) else None
        raw = await http_get_json(self.url, "/api/0/buckets/", self.request_timeout)
        if not isinstance(raw, Mapping):
            raise ValueError("the bucket list is not a JSON object")
        self._buckets = AwBuckets.choose(raw, self._hostname)
        self._buckets_read = time.monotonic()
        return self._buckets

    async def _buckets_now(self) -> AwBuckets:
        if self._buckets is None or time.monotonic() - self._buckets_read > BUCKETS_TTL:
            return await self._read_buckets()
        return self._buckets

    async def _latest(self, bucket: str) -> _Event | None:
        events = await http_get_json(
            self.url, f"/api/0/buckets/{quote(bucket, safe='')}/events?limit=1",
            self.request_timeout,
        )
        if not isinstance(events, Sequence) or not events:
            return None
        return _parse_event(events[0])

    def _fresh(self, event: _Event | None, now: datetime) -> bool:
        return event is not None and now - event.end <= self.stale_after

    async def _current(self) -> Focus | None:
        buckets = await self._buckets_now()
        if buckets.window is None:
            return None
        window = await self._latest(buckets.window)
        now = self._now()
        if window is None or not self._fresh(window, now):
            return None
        app = str(window.data.get("app") or "")
        title = str(window.data.get("title") or "")
        if not app and not title:
            return None
        url: str | None = None
        if buckets.web and title:
            tabs = await asyncio.gather(*(self._latest(b) for b in buckets.web))
            matching = [t for t in tabs if t is not None
                        and tab_matches(title, str(t.data.get("title") or ""))
                        and t.data.get("url")]
            if matching:
                url = str(max(matching, key=lambda t: t.end).data["url"])
        return Focus(app=app, title=title, url=url)

    async def _afk_state(self) -> tuple[bool, datetime] | None:
        buckets = await self._buckets_now()
        if buckets.afk is None:
            return None
        event = await self._latest(buckets.afk)
        now = self._now()
        if event is None or not self._fresh(event, now):
            return None
        status = event.data.get("status")
        if status not in ("afk", "not-afk"):
            return None
        # The watcher dates both edges: afk at the last input, not-afk at the return.
        return status == "afk", min(event.start, now)

    async def _guarded(self, query: Callable[[], Awaitable[_T]], what: str) -> _T | _Failed:
        """Run a query; turn a lost server into a failure, a glitch into "unknown"."""
        try:
            return await query()
        except AwHttpError as exc:
            if exc.status == 404:  # a bucket went away: read the list next time
                self._buckets = None
            log.warning("activitywatch query failed", what=what, error=_describe(exc))
        except TimeoutError as exc:
            log.warning("activitywatch query failed", what=what, error=_describe(exc))
        except OSError as exc:
            self._lost(f"aw-server at {self.url} is gone: {_describe(exc)}")
        except ValueError as exc:
            log.warning("activitywatch answer not understood", what=what, error=str(exc))
        return _FAILED

    # -- reporting ----------------------------------------------------------------------
    async def _report(self, force: bool) -> None:
        if self.wanted & {Capability.FOCUS, Capability.TITLE, Capability.URL}:
            focus = await self._guarded(self._current, "window")
            if focus is not _FAILED:
                self._report_focus(focus, force)
        if Capability.IDLE in self.wanted:
            state = await self._guarded(self._afk_state, "afk")
            if state is not _FAILED and state is not None:
                self._report_afk(*state, force)

    def _report_focus(self, focus: Focus | None, force: bool) -> None:
        if not self._running:
            return
        if not self.wanted & {Capability.FOCUS, Capability.TITLE, Capability.URL}:
            return
        if self._last_focus.changed(focus, force):
            self.sink.focus_changed(self.name, focus, self._now())

    def _report_afk(self, afk: bool, at: datetime, force: bool) -> None:
        if not self._running or Capability.IDLE not in self.wanted:
            return
        if force or afk != self._afk:
            self._afk = afk
            self.sink.idle_changed(self.name, afk, at)

    def _lost(self, reason: str) -> None:
        """The server is gone: fail once (the manager restarts us with backoff).

        During start() the reason is kept instead, and start() raises it.
        """
        if not self._running:
            return
        self._lost_reason = reason
        if self.health is not Health.RUNNING:
            return
        log.warning("activity source lost", source=self.name, reason=reason)
        self._running = False
        self.fail(reason)


def _hostname_of(info: Mapping[str, Any]) -> str | None:
    hostname = info.get("hostname")
    return str(hostname) if hostname else None
