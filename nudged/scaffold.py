"""``nudged plugins new NAME``: a plugin package that works before its author edits it.

It writes ``nudged-NAME/`` with a ``pyproject.toml`` that declares the ``nudged``
entry point, a plugin module with one nudge and a config model, a README and a
passing test that uses :mod:`nudged.testing`. ``pip install -e`` on the folder makes
the plugin live at once. It never overwrites anything. The templates are package
data in ``nudged/data/scaffold/`` (``string.Template``, ``${name}`` placeholders).
"""

from __future__ import annotations

import re
from importlib import resources
from importlib.metadata import entry_points
from pathlib import Path
from string import Template

from nudged import PLUGIN_API_VERSION, __version__
from nudged.errors import PluginError
from nudged.plugins import ENTRY_POINT_GROUP, user_plugin_dir

#: A plugin name: the entry point's name, the ``[plugins.NAME]`` table and, as
#: ``nudged_NAME``, a Python module.
NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
#: template in nudged/data/scaffold -> where it goes in the new package
FILES = {
    "pyproject.toml.tmpl": "pyproject.toml",
    "README.md.tmpl": "README.md",
    "plugin.py.tmpl": "src/${module}/__init__.py",
    "test_plugin.py.tmpl": "tests/test_${name}.py",
}


def names(name: str) -> dict[str, str]:
    """Every spelling of the plugin's name the templates use, once the name is checked."""
    if not NAME.fullmatch(name):
        raise PluginError(
            f"{name!r} is not a plugin name: use lowercase letters, digits and underscores, "
            "starting with a letter, at most 40 characters (like hydrate or eye_rest)")
    words = [w for w in name.split("_") if w]
    title = " ".join(words)
    return {
        "name": name,
        "module": f"nudged_{name}",
        "dist": f"nudged-{'-'.join(words)}",
        "cls": "".join(w.capitalize() for w in words),
        "title": title.capitalize(),
        "title_lower": title,
        "api": str(PLUGIN_API_VERSION),
        "version": __version__,
    }


def _taken(name: str) -> str | None:
    """Where a plugin with this name already comes from, if one does."""
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == name:
            dist = getattr(ep, "dist", None)
            return f"{ep.value}" + (f" from {dist.name}" if dist else "")
    single = user_plugin_dir() / f"{name}.py"
    return str(single) if single.exists() else None


def render(name: str) -> dict[str, str]:
    """The new package's files: relative path -> text."""
    values = names(name)
    folder = resources.files("nudged").joinpath("data", "scaffold")
    return {
        Template(target).substitute(values):
            Template(folder.joinpath(template).read_text("utf-8")).substitute(values)
        for template, target in FILES.items()
    }


def create(name: str, parent: Path) -> Path:
    """Write the package ``parent/nudged-NAME``; raises :class:`PluginError` with a
    sentence when the name is not usable or the folder exists."""
    files = render(name)
    found = _taken(name)
    if found:
        raise PluginError(f"there is already a plugin named {name} ({found}); "
                          "pick another name")
    target = parent / names(name)["dist"]
    try:
        target.mkdir(parents=True)
    except FileExistsError:
        raise PluginError(f"{target} already exists; nothing was written (remove it, or "
                          "choose another folder with --dir)") from None
    for relative, text in files.items():
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "x", encoding="utf-8") as fh:
            fh.write(text)
    return target


def run(name: str, parent: Path) -> int:
    """``nudged plugins new NAME [--dir PATH]``."""
    target = create(name, parent)
    written = ", ".join(sorted(render(name)))
    print(f"Wrote {target}/: {written}.\n"
          "Next, in the environment nudged runs from:\n"
          f"  cd {target}\n"
          '  pip install -e ".[test]"    # nudged finds the plugin from now on\n'
          "  pytest                      # its tests, with nudged.testing\n"
          f"  nudged plugins              # {name} is listed as ok\n"
          "  nudged preview --days 1     # its nudges in a simulated day")
    return 0
