"""structlog set-up: readable on a terminal, one key=value line per event for journald.

``--log-format json`` gives one JSON object per line. Libraries that log through the
standard library (APScheduler, desktop-notifier, dbus-fast) are quietened: nudged
logs what matters about them itself, in its own words.
"""

from __future__ import annotations

import logging
import sys
from typing import Literal

import structlog

LogFormat = Literal["auto", "console", "logfmt", "json"]
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING,
          "error": logging.ERROR}


class _Stderr:
    """Whatever ``sys.stderr`` is at the time of writing (test runners swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()

    def isatty(self) -> bool:
        return sys.stderr.isatty()


def setup(fmt: LogFormat = "auto", level: str = "info", stream: object | None = None) -> None:
    out = stream or _Stderr()
    if fmt == "auto":
        fmt = "console" if getattr(out, "isatty", lambda: False)() else "logfmt"
    renderer: structlog.typing.Processor
    if fmt == "json":
        renderer = structlog.processors.JSONRenderer()
    elif fmt == "logfmt":
        renderer = structlog.processors.LogfmtRenderer(key_order=["event"], drop_missing=True)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    processors: list[structlog.typing.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
    ]
    if fmt != "logfmt":  # journald stamps lines itself
        processors.append(structlog.processors.TimeStamper(fmt="%H:%M:%S" if fmt == "console"
                                                           else "iso"))
    if fmt in ("json", "logfmt"):
        processors.append(structlog.processors.format_exc_info)
    processors.append(renderer)
    structlog.configure(
        processors=processors,
        wrapper_class=structlog.make_filtering_bound_logger(LEVELS.get(level, logging.INFO)),
        logger_factory=structlog.PrintLoggerFactory(out),  # type: ignore[arg-type]
        cache_logger_on_first_use=False,
    )
    for noisy in ("apscheduler", "desktop_notifier", "dbus_fast"):
        logging.getLogger(noisy).setLevel(logging.CRITICAL)
