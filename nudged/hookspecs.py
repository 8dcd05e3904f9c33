"""Every hook a nudged plugin can implement. Nothing else lives here.

Conventions (documented for plugin authors in ``docs/hooks.md``):

* Every hook is prefixed ``nudged_``. A plugin implements a hook by defining a
  function or method of the same name, with ``@nudged.hookimpl`` or without it.
  It may accept any subset of the arguments, in any order, by name.
* ``ctx`` is the plugin's own :class:`nudged.context.PluginContext`: its validated
  config, a logger bound with ``plugin=<name>``, the clock and the time zone.
* ``nudged_startup`` / ``nudged_shutdown`` / observers may be ``async def``.
  Decision hooks (``firstresult``) must be plain ``def`` and fast: they decide from
  state the plugin already holds. An ``async def`` decision hook is rejected at load.
* An exception in a hook is logged with the plugin's name and never reaches other
  plugins. Three consecutive failures at runtime disable the plugin (status
  ``erroring``); the rest of nudged keeps running.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import pluggy

if TYPE_CHECKING:
    from pydantic import BaseModel

    from nudged.activity.base import Focus
    from nudged.activity.ledger import Attribution
    from nudged.context import PluginContext
    from nudged.models import ActivityChange, Answer, Decision, Nudge, NudgeSpec, Response

PROJECT = "nudged"
hookspec = pluggy.HookspecMarker(PROJECT)
hookimpl = pluggy.HookimplMarker(PROJECT)


@hookspec
def nudged_config_model() -> type[BaseModel] | None:
    """Return the pydantic model that validates this plugin's ``[plugins.<name>]`` table.

    Called once per plugin at load, before startup. Subclass
    :class:`nudged.PluginConfig` (unknown keys are errors, values are frozen) and use
    the human value types from :mod:`nudged.humanize` (``Duration``, ``TimeOfDay``,
    ``DaySet``, ``TimeWindow``). Return ``None`` (or omit the hook) for a plugin with
    no options. A table that fails validation gives the plugin the status
    ``config-error`` with a message naming the file, line and key; the key
    ``enabled`` is handled by nudged and never reaches the model.
    """


@hookspec
def nudged_startup(ctx: PluginContext) -> Awaitable[None] | None:
    """Start the plugin: open what it needs, read its state. May be ``async def``.

    Called once after configuration (and again after a config reload), before
    ``nudged_register_nudges``. ``ctx.config`` holds the validated config. An
    exception gives the plugin the status ``startup-error``; it gets no further calls.
    """


@hookspec
def nudged_shutdown(ctx: PluginContext) -> Awaitable[None] | None:
    """Release what ``nudged_startup`` took. May be ``async def``.

    Called in reverse load order when the daemon stops or reloads its config, only
    for plugins whose startup succeeded. The daemon waits at most about a second for
    all plugins together; exceptions are logged and ignored.
    """


@hookspec
def nudged_register_nudges(register: Callable[[NudgeSpec], None], ctx: PluginContext) -> None:
    """Declare this plugin's nudges by calling ``register(NudgeSpec(...))`` for each.

    Called after a successful startup. Plugins never touch the scheduler: the
    ``schedule`` of each spec (``At``, ``Every`` or ``Manual``) says when it is due, and
    a ``Manual`` nudge is made due by ``ctx.fire(nudge_id)``. Registering two specs
    with the same id raises ``ValueError`` inside ``register``.
    """


@hookspec(firstresult=True)
def nudged_filter_nudge(nudge: Nudge, now: datetime, ctx: PluginContext) -> Decision | None:
    """Decide about a due nudge: allow, suppress, or defer it until a time.

    Called for every due nudge (also deferred and snoozed ones when they come due
    again), in plugin load order; the first answer that is not ``None`` wins and later
    filters are not asked. Return ``None`` for "no opinion". ``Decision.defer(until,
    reason)`` shows the nudge again at ``until`` (dropped if it has gone stale by then);
    ``Decision.suppress(reason)`` drops it. Must be a plain, fast ``def``.
    """


@hookspec
def nudged_on_nudge_shown(nudge: Nudge, at: datetime, ctx: PluginContext) -> None:
    """Observe that a nudge (from any plugin) was shown to the person at ``at``.

    Every implementation is called. Compare ``nudge.plugin`` with ``ctx.name`` to
    react to your own nudges only.
    """


@hookspec
def nudged_on_response(
    nudge: Nudge, response: Response | Answer, at: datetime, ctx: PluginContext
) -> Awaitable[None] | None:
    """Observe what became of a shown nudge: done, snooze, skip, dismissed or timed out,
    or one of its own answer buttons (an ``Answer``).

    Every implementation is called, after the response is stored. A snoozed nudge
    comes due again after the snooze delay on its own; the plugin does nothing.
    """


@hookspec
def nudged_on_activity(change: ActivityChange, ctx: PluginContext) -> None:
    """Observe a change in presence or focus, as it happens.

    ``change.kind`` is ``"presence"`` (the person came back or left: idle, locked or
    asleep) or ``"focus"`` (another app or window title has the focus); ``change.at`` is
    when it really happened (idle is back-dated to the last input). Every
    implementation is called. Use it to recompute deadlines ("the limit is reached
    at T") with ``ctx.call_at``; query totals with ``ctx.activity``. Must be fast.
    """


@hookspec(firstresult=True)
def nudged_classify_focus(focus: Focus, ctx: PluginContext) -> Attribution | None:
    """Say which site or category the focused window belongs to, for the usage ledger.

    Called on every focus change with the focused app, its title (in memory only;
    titles are never stored) and URL when a source provides one. The first
    non-``None`` :class:`~nudged.activity.ledger.Attribution` wins; ``None`` means
    "not mine". Present time is then counted against its ``app``, ``category`` and
    ``site``. Must be a plain, fast ``def``.
    """


@hookspec
def nudged_status(ctx: PluginContext) -> Mapping[str, Any] | None:
    """Add a few facts to ``nudged status`` under this plugin's name.

    Called when someone asks for the status (``nudged status``, the D-Bus ``Status``
    method, a status-bar module every few seconds): return a small mapping of short
    keys to JSON values from state the plugin already holds (``{"graces_left": 1}``),
    or ``None`` for nothing to add. Every implementation is called. Must be a plain,
    fast ``def``; an exception leaves this plugin's facts out.
    """


@hookspec
def nudged_register_commands(register: Callable[..., None], ctx: PluginContext) -> None:
    """Add subcommands to the ``nudged`` command line (``nudged contact log Mum``).

    Called only when a person runs a command that is not built in, so plugins cost
    nothing for ``nudged --help``. Call ``register(name, help, build, run)``:
    ``build(parser)`` adds arguments to an ``argparse.ArgumentParser``;
    ``run(args, ctx) -> int`` does the work and returns the exit code. ``ctx`` has the
    plugin's config, ``ctx.state`` and ``ctx.journal`` (the daemon may be running: read
    and write through them, never cache). Raise :class:`nudged.ConfigError` with a
    sentence for bad input; it is printed without a traceback.
    """
