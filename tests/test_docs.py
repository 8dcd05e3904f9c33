"""A plugin author reads docs/hooks.md, and what it says is what nudged does.

Every hook in :mod:`nudged.hookspecs` has a section whose heading and signature match
the spec, no section describes a hook that is gone, and every example compiles; the
plugin examples are loaded the way nudged loads plugins and live through a simulated
day next to the built-in plugins, so the examples cannot rot.
"""

from __future__ import annotations

import ast
import inspect
import re
import sys
import tomllib
import types
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import structlog.testing
from helpers import simulate

from nudged import hookspecs
from nudged.plugins import PluginHost, PluginStatus

REPO = Path(__file__).resolve().parent.parent
HOOKS_MD = REPO / "docs" / "hooks.md"

# "## nudged_filter_nudge(nudge, now, ctx)"
HOOK_HEADING = re.compile(r"^## (nudged_\w+)\((.*)\)[ \t]*$", re.M)
# Any heading, of any level, that looks like it documents a hook.
ANY_HOOK_HEADING = re.compile(r"^#+[ \t]+`?(nudged_\w+)[ \t]*\(", re.M)
SIGNATURE = re.compile(r"^\*\*Signature:\*\* `(nudged_\w+\(.*\).*)`[ \t]*$", re.M)
FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)

SIMULATED_CONFIG = """
[core]
timezone = "Europe/Berlin"

# Nudges from a built-in plugin, so that every example's filters and observers
# get something to look at during the simulated day.
[[plugins.custom.nudges]]
id = "doc-check"
title = "A nudge to look at"
every = "45m"
"""


def hook_specs() -> dict[str, Callable[..., Any]]:
    """Every hook spec, found the way pluggy finds them (the ``nudged_spec`` marker)."""
    marker = f"{hookspecs.PROJECT}_spec"
    return {
        name: value
        for name, value in vars(hookspecs).items()
        if name.startswith("nudged_") and getattr(value, marker, None) is not None
    }


SPECS = hook_specs()


def read_doc() -> str:
    assert HOOKS_MD.is_file(), "docs/hooks.md, the hook reference for plugin authors, is missing"
    return HOOKS_MD.read_text(encoding="utf-8")


def line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def hook_sections(text: str) -> dict[str, tuple[list[str], str, int]]:
    """name -> (argument names in the heading, text up to the next ``## `` heading, line)."""
    sections = {}
    starts = [m.start() for m in re.finditer(r"^## ", text, re.M)] + [len(text)]
    for match in HOOK_HEADING.finditer(text):
        end = next(s for s in starts if s > match.start())
        args = [a.strip() for a in match.group(2).split(",") if a.strip()]
        sections[match.group(1)] = (args, text[match.end():end], line_of(text, match.start()))
    return sections


@dataclass
class Block:
    line: int  # where the code starts in docs/hooks.md
    lang: str
    code: str
    section: str  # the "## " heading it is under
    tables: dict[str, Any] = field(default_factory=dict)  # [plugins.X] from toml after it
    config: str = ""  # the toml that holds those tables

    @property
    def where(self) -> str:
        return f"docs/hooks.md:{self.line}"


def blocks(text: str) -> list[Block]:
    """Fenced code blocks in order; each python block gets the ``[plugins.X]`` tables of
    the toml blocks that follow it (up to the next python block): its config examples."""
    found: list[Block] = []
    last_python: Block | None = None
    for match in FENCE.finditer(text):
        before = text[: match.start()]
        headings = re.findall(r"^## (.*)$", before, re.M)
        block = Block(
            line=line_of(text, match.start(2)),
            lang=match.group(1),
            code=match.group(2),
            section=headings[-1] if headings else "",
        )
        found.append(block)
        if block.lang == "python":
            last_python = block
        elif block.lang == "toml" and last_python is not None:
            try:
                data = tomllib.loads(block.code)
            except tomllib.TOMLDecodeError:
                continue  # reported by its own test
            plugins = data.get("plugins")
            if isinstance(plugins, dict):
                last_python.tables.update(plugins)
                last_python.config += block.code
    return found


def doc_blocks(lang: str) -> list[Block]:
    if not HOOKS_MD.is_file():
        return []
    return [b for b in blocks(HOOKS_MD.read_text(encoding="utf-8")) if b.lang == lang]


def run_example(block: Block, monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    name = f"nudged_doc_example_{block.line}"
    module = types.ModuleType(name)
    module.__file__ = block.where
    monkeypatch.setitem(sys.modules, name, module)
    exec(compile(block.code, block.where, "exec"), module.__dict__)
    return module


def defines_plugin(code: str) -> bool:
    """A plugin class (a class with ``nudged_*`` methods) or a single-file plugin."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return False  # reported by test_every_python_example_compiles
    functions = (ast.FunctionDef, ast.AsyncFunctionDef)
    for node in tree.body:
        if isinstance(node, ast.ClassDef) and any(
            isinstance(item, functions) and item.name.startswith("nudged_") for item in node.body
        ):
            return True
        if isinstance(node, functions) and node.name.startswith("nudged_"):
            return True
    return False


def plugins_in(module: types.ModuleType, block: Block) -> dict[str, object]:
    """The plugins an example defines, named as the host will know them."""
    found: dict[str, object] = {}
    for attr, value in vars(module).items():
        if (
            inspect.isclass(value)
            and value.__module__ == module.__name__
            and any(a.startswith("nudged_") for a in vars(value))
        ):
            # The class itself, as an entry point names it: the host instantiates it.
            found[f"{attr.lower()}_{block.line}"] = value
    module_hooks = [n for n, v in vars(module).items() if n.startswith("nudged_") and callable(v)]
    if hasattr(module, "plugin"):
        found[f"example_{block.line}"] = module.plugin
    elif module_hooks:
        found[f"example_{block.line}"] = module  # a single-file plugin
    if len(found) == 1 and len(block.tables) == 1:
        # The toml after the example configures it: give it the name the toml uses.
        (obj,) = found.values()
        found = {next(iter(block.tables)): obj}
    return found


PYTHON_BLOCKS = doc_blocks("python")
PLUGIN_BLOCKS = [b for b in PYTHON_BLOCKS if defines_plugin(b.code)]


# -- every hook is documented, and only real hooks ---------------------------------------


def test_the_hook_reference_has_a_section_for_every_hook() -> None:
    sections = hook_sections(read_doc())
    missing = sorted(set(SPECS) - set(sections))
    assert not missing, (
        f"docs/hooks.md has no '## name(args)' section for {', '.join(missing)}; "
        "every hook in nudged/hookspecs.py needs one"
    )


def test_every_hook_heading_names_a_hook_that_exists() -> None:
    text = read_doc()
    named = [(m.group(1), line_of(text, m.start())) for m in ANY_HOOK_HEADING.finditer(text)]
    unknown = [f"{name} (line {line})" for name, line in named if name not in SPECS]
    assert not unknown, (
        f"docs/hooks.md documents hooks that nudged/hookspecs.py does not have: "
        f"{', '.join(unknown)}; remove or rename those sections"
    )
    strict = {m.group(1) for m in HOOK_HEADING.finditer(text)}
    loose = [f"{name} (line {line})" for name, line in named if name not in strict]
    assert not loose, (
        f"hook headings must read exactly '## nudged_name(arg, ...)': {', '.join(loose)}"
    )
    names = [name for name, _ in named]
    twice = sorted({n for n in names if names.count(n) > 1})
    assert not twice, f"docs/hooks.md has more than one section for {', '.join(twice)}"


@pytest.mark.parametrize("hook", sorted(SPECS))
def test_a_hook_heading_lists_the_arguments_of_the_spec_in_order(hook: str) -> None:
    sections = hook_sections(read_doc())
    if hook not in sections:
        pytest.fail(f"docs/hooks.md has no section for {hook}")
    args, _, line = sections[hook]
    expected = list(inspect.signature(SPECS[hook]).parameters)
    assert args == expected, (
        f"docs/hooks.md:{line}: the heading says {hook}({', '.join(args)}), "
        f"but the spec is {hook}({', '.join(expected)})"
    )


@pytest.mark.parametrize("hook", sorted(SPECS))
def test_a_hook_section_shows_the_typed_signature_of_the_spec(hook: str) -> None:
    sections = hook_sections(read_doc())
    if hook not in sections:
        pytest.fail(f"docs/hooks.md has no section for {hook}")
    _, body, line = sections[hook]
    # hookspecs.py uses postponed annotations, so the signature reads like the source.
    expected = hook + str(inspect.signature(SPECS[hook])).replace("'", "")
    shown = SIGNATURE.findall(body)
    assert shown == [expected], (
        f"the {hook} section (docs/hooks.md:{line}) should have one line "
        f"'**Signature:** `{expected}`', found {shown or 'none'}"
    )


# -- the examples work -------------------------------------------------------------------


def test_the_reference_has_plugin_examples() -> None:
    # Guards the tests below against passing because no example was found at all.
    assert len(PLUGIN_BLOCKS) >= len(SPECS), (
        f"expected a plugin example for each of the {len(SPECS)} hooks in docs/hooks.md, "
        f"found {len(PLUGIN_BLOCKS)}"
    )


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=lambda b: b.where)
def test_every_python_example_compiles(block: Block) -> None:
    try:
        compile(block.code, block.where, "exec")
    except SyntaxError as exc:
        pytest.fail(f"{block.where}: the example does not compile: {exc}")


@pytest.mark.parametrize("block", doc_blocks("toml"), ids=lambda b: b.where)
def test_every_toml_example_parses(block: Block) -> None:
    try:
        tomllib.loads(block.code)
    except tomllib.TOMLDecodeError as exc:
        pytest.fail(f"{block.where}: the example is not valid TOML: {exc}")


@pytest.mark.parametrize("block", PLUGIN_BLOCKS, ids=lambda b: b.where)
def test_a_plugin_example_loads_with_every_hook_valid(
    block: Block, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugins = plugins_in(run_example(block, monkeypatch), block)
    assert plugins, f"{block.where}: the example looks like a plugin but defines none"
    host = PluginHost(environ={})
    for name, obj in plugins.items():
        host.add_object(name, obj, source=block.where)
    host.load()
    for name in plugins:
        record = host.records[name]
        assert record.status is not PluginStatus.INVALID_HOOK, (
            f"{block.where}: nudged rejects the example plugin: {record.reason}"
        )
        assert record.status is PluginStatus.LOADED, (
            f"{block.where}: the example plugin is {record.status.value}: {record.reason}"
        )


@pytest.mark.parametrize("block", PLUGIN_BLOCKS, ids=lambda b: b.where)
def test_a_plugin_example_lives_through_a_simulated_day(
    block: Block, monkeypatch: pytest.MonkeyPatch
) -> None:
    plugins = plugins_in(run_example(block, monkeypatch), block)
    # The example's own config (the toml block after it) is part of its story.
    config = SIMULATED_CONFIG + "\n" + block.config
    with structlog.testing.capture_logs() as logs:
        items, runtime = simulate(config, days=1, plugins=plugins, builtins=True)
    for name in plugins:
        record = runtime.host.records[name]
        assert record.status is PluginStatus.OK, (
            f"{block.where}: after a simulated day the example plugin is "
            f"{record.status.value}: {record.reason}"
        )
    troubles = [
        f"{entry['event']}: {entry.get('hook', '')} {entry.get('error', '')}".strip()
        for entry in logs
        if entry.get("plugin") in plugins and entry["log_level"] in ("warning", "error")
    ]
    assert not troubles, f"{block.where}: during a simulated day the example logged {troubles}"
    assert any(item.shown for item in items), "the simulated day showed no nudge at all"


@pytest.mark.parametrize("hook", sorted(SPECS))
def test_each_hook_section_has_an_example_that_implements_the_hook(hook: str) -> None:
    sections = hook_sections(read_doc())
    if hook not in sections:
        pytest.fail(f"docs/hooks.md has no section for {hook}")
    heading = f"{hook}({', '.join(sections[hook][0])})"
    examples = [b for b in PLUGIN_BLOCKS if b.section == heading]
    assert any(re.search(rf"\bdef {hook}\(", b.code) for b in examples), (
        f"the {hook} section of docs/hooks.md has no plugin example implementing {hook}"
    )
