"""The plugin host: discover, load, validate, configure and call plugins, each in isolation.

pluggy finds and orders hook implementations; this module adds what pluggy leaves
out. Every plugin is loaded in its own ``try`` and every failure becomes a
:class:`PluginStatus` with a reason (mopidy's idea), so one broken plugin never
stops the daemon or the other plugins. Hooks are called implementation by
implementation (``call_each`` / ``call_first``) instead of through pluggy's
``hook(...)``, because pluggy stops at the first raising implementation.
"""

from __future__ import annotations

import asyncio
import difflib
import enum
import importlib.util
import inspect
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from importlib.metadata import EntryPoint, entry_points
from pathlib import Path
from types import ModuleType
from typing import Any

import pluggy
import structlog

from nudged import PLUGIN_API_VERSION, __version__, hookspecs
from nudged.context import PluginContext

ENTRY_POINT_GROUP = "nudged"
#: The attribute a plugin states the plugin API version it needs with: ``nudged_api = 2``.
API_ATTRIBUTE = "nudged_api"
#: Hooks whose result is used at once; an ``async def`` would return an unawaited
#: coroutine (first-result hooks are checked through their spec).
SYNC_ONLY = frozenset({"nudged_config_model", "nudged_register_nudges"})
MAX_CONSECUTIVE_FAILURES = 3
log = structlog.get_logger("nudged.plugins")


class PluginStatus(enum.Enum):
    LOADED = "loaded"  # imported and valid, not yet started
    OK = "ok"
    DISABLED = "disabled"
    IMPORT_ERROR = "import-error"
    INVALID_HOOK = "invalid-hook"
    NEEDS_NEWER = "needs-newer-nudged"
    CONFIG_ERROR = "config-error"
    STARTUP_ERROR = "startup-error"
    ERRORING = "erroring"


@dataclass
class PluginRecord:
    """Everything nudged knows about one plugin, good or broken."""

    name: str
    source: str  # "entry point nudged_plugins.custom:CustomPlugin" or a file path
    distribution: str | None = None
    version: str | None = None
    status: PluginStatus = PluginStatus.LOADED
    reason: str = ""
    obj: object | None = None
    config: Any = None  # the validated config model instance
    ctx: PluginContext | None = None
    started: bool = False  # startup succeeded: owed a shutdown, whatever happens later
    failures: int = 0
    loader: Callable[[], object] | None = field(default=None, repr=False)

    @property
    def active(self) -> bool:
        return self.status in (PluginStatus.LOADED, PluginStatus.OK)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "status": self.status.value,
            "reason": self.reason,
            "source": self.source,
        }


class _Manager(pluggy.PluginManager):
    """Treats every ``nudged_*`` callable as a hook implementation, marked or not.

    Without this, a plugin author who forgets ``@hookimpl`` gets silence instead of
    an error; pytest makes the same choice for ``pytest_*`` functions.
    """

    def parse_hookimpl_opts(self, plugin: object, name: str) -> Any:
        opts = super().parse_hookimpl_opts(plugin, name)
        if opts is None and name.startswith("nudged_"):
            method = getattr(plugin, name, None)
            if callable(method) and not inspect.isclass(method):
                return {}
        return opts


def _hook_names() -> dict[str, pluggy.HookspecOpts]:
    names = {}
    for name, value in vars(hookspecs).items():
        opts = getattr(value, f"{hookspecs.PROJECT}_spec", None)
        if name.startswith("nudged_") and opts is not None:
            names[name] = opts
    return names


HOOKS = _hook_names()


def _describe(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def user_plugin_dir(environ: Mapping[str, str] = os.environ) -> Path:
    base = environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "nudged" / "plugins"


def disabled_by_env(environ: Mapping[str, str] = os.environ) -> set[str]:
    raw = environ.get("NUDGED_DISABLE_PLUGINS", "")
    return {name.strip() for name in raw.split(",") if name.strip()}


def _instantiate(obj: object) -> object:
    """Entry points may name a class (instantiated, so state lives on the instance),
    a module, or a ready-made object."""
    if inspect.isclass(obj):
        return obj()
    return obj


def _api_problem(obj: object) -> tuple[PluginStatus, str] | None:
    """Why ``obj`` (a plugin class, module or object, not yet instantiated) cannot run
    on the plugin API this nudged offers; ``None`` when it can."""
    if not hasattr(obj, API_ATTRIBUTE):
        return None  # no requirement: the plugin uses what every version has
    wanted = getattr(obj, API_ATTRIBUTE)
    if isinstance(wanted, bool) or not isinstance(wanted, int) or wanted < 1:
        shown = repr(wanted) if isinstance(wanted, str | int | float) else type(wanted).__name__
        return (PluginStatus.INVALID_HOOK,
                f"{API_ATTRIBUTE} = {shown} is not a plugin API version (write a whole "
                f"number from 1 up, like {API_ATTRIBUTE} = {PLUGIN_API_VERSION})")
    if wanted > PLUGIN_API_VERSION:
        return (PluginStatus.NEEDS_NEWER,
                f"needs plugin API {wanted}; this nudged {__version__} offers "
                f"{PLUGIN_API_VERSION}: upgrade nudged")
    return None


def _load_file(path: Path) -> ModuleType:
    module_name = f"nudged_user_plugins.{path.stem}"
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(module_name, None)
        raise
    plugin = getattr(module, "plugin", None)
    return plugin if plugin is not None else module


class PluginHost:
    """Owns the pluggy manager and one :class:`PluginRecord` per discovered plugin."""

    def __init__(self, environ: Mapping[str, str] = os.environ) -> None:
        self._environ = environ
        self.pm = _Manager(hookspecs.PROJECT)
        self.pm.add_hookspecs(hookspecs)
        self.records: dict[str, PluginRecord] = {}
        self._tasks: set[asyncio.Future[Any]] = set()  # async observers still running

    # -- discovery and loading ---------------------------------------------------
    def discover(
        self,
        eps: Iterable[EntryPoint] | None = None,
        user_dir: Path | None = None,
    ) -> None:
        """Find plugins: entry points in the ``nudged`` group, then single files."""
        if eps is None:
            eps = entry_points(group=ENTRY_POINT_GROUP)
        for ep in sorted(eps, key=lambda e: e.name):
            dist = getattr(ep, "dist", None)
            self._add(
                PluginRecord(
                    name=ep.name,
                    source=f"entry point {ep.value}",
                    distribution=dist.name if dist else None,
                    version=dist.version if dist else None,
                    loader=ep.load,
                )
            )
        folder = user_dir if user_dir is not None else user_plugin_dir(self._environ)
        if folder.is_dir():
            for path in sorted(folder.glob("*.py")):
                if path.name.startswith(("_", ".")):
                    continue
                self._add(
                    PluginRecord(
                        name=path.stem,
                        source=str(path),
                        distribution="(single file)",
                        loader=lambda p=path: _load_file(p),  # type: ignore[misc]
                    )
                )

    def add_object(self, name: str, obj: object, source: str = "(in process)") -> None:
        """Add an already-built plugin object (tests, ``nudged.testing``)."""
        self._add(PluginRecord(name=name, source=source, loader=lambda: obj))

    def _add(self, record: PluginRecord) -> None:
        if record.name in self.records:
            first = self.records[record.name]
            record.status = PluginStatus.IMPORT_ERROR
            record.reason = f"the name {record.name!r} is already used by {first.source}"
            self.records[f"{record.name} ({record.source})"] = record
            return
        self.records[record.name] = record

    def load(self, disabled: Iterable[str] = ()) -> None:
        """Import and validate every discovered plugin; failures become statuses."""
        skip = set(disabled) | disabled_by_env(self._environ)
        for record in self.records.values():
            if record.status is not PluginStatus.LOADED or record.obj is not None:
                continue
            if record.name in skip:
                record.status = PluginStatus.DISABLED
                record.reason = (
                    "NUDGED_DISABLE_PLUGINS"
                    if record.name in disabled_by_env(self._environ)
                    else "enabled = false in the config"
                )
                continue
            try:
                assert record.loader is not None
                found = record.loader()
                # Checked before instantiating: a plugin written for a newer nudged is
                # never called, not even its __init__.
                unfit = _api_problem(found)
                obj = None if unfit else _instantiate(found)
            except (Exception, SystemExit) as exc:  # any import failure is a status
                record.status = PluginStatus.IMPORT_ERROR
                record.reason = _describe(exc)
                log.debug("plugin failed to load", plugin=record.name, reason=record.reason)
                continue
            if unfit:
                record.status, record.reason = unfit
                log.debug("plugin cannot run on this nudged", plugin=record.name,
                          reason=record.reason)
                continue
            problem = self._validate(obj)
            if problem:
                record.status = PluginStatus.INVALID_HOOK
                record.reason = problem
                log.debug("plugin has an invalid hook", plugin=record.name, reason=problem)
                continue
            try:
                self.pm.register(obj, name=record.name)
            except Exception as exc:
                record.status = PluginStatus.INVALID_HOOK
                record.reason = _describe(exc)
                continue
            record.obj = obj

    def _validate(self, obj: object) -> str:
        """Return why ``obj`` is not a valid plugin, or an empty string."""
        for attr in dir(obj):
            if not attr.startswith("nudged_"):
                continue
            fn = getattr(obj, attr, None)
            if not callable(fn):
                if attr == API_ATTRIBUTE or isinstance(fn, ModuleType):
                    continue  # nudged_api, or `import nudged_something` in a plugin module
                close = difflib.get_close_matches(attr, [API_ATTRIBUTE, *HOOKS], n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                return (f"{attr} is not something nudged reads{hint}; a plugin's nudged_* "
                        f"names are its hooks and {API_ATTRIBUTE}")
            spec = HOOKS.get(attr)
            if spec is None:
                close = difflib.get_close_matches(attr, HOOKS, n=1)
                hint = f" (did you mean {close[0]}?)" if close else ""
                return f"{attr} is not a nudged hook{hint}"
            wanted = set(inspect.signature(getattr(hookspecs, attr)).parameters)
            try:
                params = inspect.signature(fn).parameters
            except (TypeError, ValueError):
                continue
            unknown = [
                p for p in params
                if p not in wanted
                and params[p].kind not in (params[p].VAR_POSITIONAL, params[p].VAR_KEYWORD)
            ]
            if unknown:
                return (
                    f"{attr} asks for {', '.join(unknown)}, which the hook does not provide "
                    f"(it offers {', '.join(sorted(wanted)) or 'no arguments'})"
                )
            if (spec.get("firstresult") or attr in SYNC_ONLY) and inspect.iscoroutinefunction(fn):
                kind = "a decision hook" if spec.get("firstresult") else "this hook"
                return f"{attr} must be a plain def: {kind} cannot be async"
        return ""

    # -- configuration and lifecycle ---------------------------------------------
    def active(self) -> list[PluginRecord]:
        return [r for r in self.records.values() if r.active and r.obj is not None]

    def impls(self, hook: str, started_only: bool = True) -> list[tuple[PluginRecord, Any]]:
        """Implementations of ``hook`` in call order: ``tryfirst`` ones, then the rest in
        load order, then ``trylast`` ones. Only started plugins, unless asked otherwise
        (configuration and startup reach plugins before they have started)."""
        caller = getattr(self.pm.hook, hook)
        listed = caller.get_hookimpls()  # pluggy's order: trylast, normal, tryfirst
        ordered = ([i for i in reversed(listed) if i.tryfirst]
                   + [i for i in listed if not (i.tryfirst or i.trylast)]
                   + [i for i in reversed(listed) if i.trylast])
        out = []
        for impl in ordered:
            record = self.records.get(impl.plugin_name)
            if record is None or not record.active:
                continue
            if started_only and record.status is not PluginStatus.OK:
                continue
            out.append((record, impl))
        return out

    def set_failed(self, record: PluginRecord, status: PluginStatus, reason: str) -> None:
        """Take a plugin out of service; it stays registered so it can be shut down."""
        record.status = status
        record.reason = reason

    def _args(self, record: PluginRecord, impl: Any, kwargs: dict[str, Any]) -> list[Any]:
        values = {"ctx": record.ctx, **kwargs}  # an explicit ctx (commands) wins
        return [values[name] for name in impl.argnames]

    def _failed(self, record: PluginRecord, hook: str, exc: BaseException) -> None:
        record.failures += 1
        log.error(
            "plugin hook raised",
            plugin=record.name,
            hook=hook,
            error=_describe(exc),
            failures=record.failures,
            exc_info=exc,
        )
        if record.failures >= MAX_CONSECUTIVE_FAILURES:
            self.set_failed(
                record,
                PluginStatus.ERRORING,
                f"disabled after {record.failures} failures in a row; last in {hook}: "
                f"{_describe(exc)}",
            )
            log.error("plugin disabled", plugin=record.name, reason=record.reason)

    def call_each(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a synchronous observer hook on every active plugin, isolating failures."""
        results = []
        for record, impl in self.impls(hook):
            try:
                result = impl.function(*self._args(record, impl, kwargs))
                if inspect.isawaitable(result):
                    # Observers may be async: run them on the loop without waiting.
                    task = asyncio.ensure_future(result)
                    self._tasks.add(task)
                    task.add_done_callback(self._tasks.discard)
                    task.add_done_callback(partial(self._task_done, record, hook))
                    continue
            except Exception as exc:
                self._failed(record, hook, exc)
                continue
            record.failures = 0
            results.append((record.name, result))
        return results

    def _task_done(self, record: PluginRecord, hook: str, task: asyncio.Future[Any]) -> None:
        if task.cancelled():
            return
        exc = task.exception()
        if exc is not None:
            self._failed(record, hook, exc)
        else:
            record.failures = 0

    async def acall_each(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a hook on every active plugin, awaiting async implementations."""
        results = []
        for record, impl in self.impls(hook):
            try:
                result = impl.function(*self._args(record, impl, kwargs))
                if inspect.isawaitable(result):
                    result = await result
            except Exception as exc:
                self._failed(record, hook, exc)
                continue
            record.failures = 0
            results.append((record.name, result))
        return results

    def call_first(self, hook: str, **kwargs: Any) -> tuple[str, Any] | None:
        """First non-``None`` answer of a decision hook, with the plugin that gave it."""
        for record, impl in self.impls(hook):
            try:
                result = impl.function(*self._args(record, impl, kwargs))
            except Exception as exc:
                self._failed(record, hook, exc)
                continue
            record.failures = 0
            if result is not None:
                return record.name, result
        return None

    def call_one(self, record: PluginRecord, hook: str, **kwargs: Any) -> Any:
        """Call one plugin's own implementation of ``hook`` (``None`` if it has none).
        Exceptions propagate: the caller turns them into the right status."""
        for impl in getattr(self.pm.hook, hook).get_hookimpls():
            if self.records.get(impl.plugin_name) is record:
                return impl.function(*self._args(record, impl, kwargs))
        return None

    async def acall_one(self, record: PluginRecord, hook: str, **kwargs: Any) -> Any:
        result = self.call_one(record, hook, **kwargs)
        if inspect.isawaitable(result):
            result = await result
        return result

    def statuses(self) -> list[dict[str, Any]]:
        return [r.as_dict() for r in sorted(self.records.values(), key=lambda r: r.name)]
