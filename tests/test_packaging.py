"""Someone adds a built-in plugin folder, or installs nudged from a wheel.

Built-in plugins live in ``plugins/`` and are installed as the package
``nudged_plugins``; they reach nudged through the same ``nudged`` entry points as
third-party plugins. setuptools needs an explicit package list for the renamed
package, so a new folder that is not listed is silently left out of the wheel: these
tests make that (and every other way the two can drift apart) fail loudly.
"""

from __future__ import annotations

import ast
import importlib.metadata
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

import nudged
import nudged.dbus
import nudged.desktop
import nudged.humanize

REPO = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
ENTRY_POINTS: dict[str, str] = PYPROJECT["project"]["entry-points"]["nudged"]
PACKAGES: list[str] = PYPROJECT["tool"]["setuptools"]["packages"]
PACKAGE_DIRS: dict[str, str] = PYPROJECT["tool"]["setuptools"].get("package-dir", {})
PLUGIN_FOLDERS = sorted(p.parent.name for p in (REPO / "plugins").glob("*/__init__.py"))


def module_of(value: str) -> str:
    """``"nudged_plugins.custom:CustomPlugin"`` -> ``"nudged_plugins.custom"``."""
    return value.partition(":")[0].strip()


def folder_of(module: str) -> str | None:
    """The ``plugins/`` folder a ``nudged_plugins.<folder>...`` module lives in."""
    parts = module.split(".")
    return parts[1] if parts[0] == "nudged_plugins" and len(parts) > 1 else None


def python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if "__pycache__" not in p.parts)


# -- (a) folders, entry points and the package list agree --------------------------------


def test_there_are_built_in_plugins_to_check() -> None:
    assert PLUGIN_FOLDERS, "no plugins/*/__init__.py found; the checks below would pass on nothing"
    assert PACKAGE_DIRS.get("nudged_plugins") == "plugins", (
        "pyproject.toml: [tool.setuptools.package-dir] must map nudged_plugins = \"plugins\""
    )


@pytest.mark.parametrize("folder", PLUGIN_FOLDERS)
def test_a_plugin_folder_has_an_entry_point_and_a_package_entry(folder: str) -> None:
    package = f"nudged_plugins.{folder}"
    pointing_here = [name for name, value in ENTRY_POINTS.items()
                     if folder_of(module_of(value)) == folder]
    assert pointing_here, (
        f"plugins/{folder}/ has no entry point: add a line like "
        f'{folder} = "{package}:SomePlugin" under [project.entry-points.nudged] in '
        "pyproject.toml"
    )
    assert package in PACKAGES, (
        f'plugins/{folder}/ is not in [tool.setuptools] packages: add "{package}" to the '
        "list in pyproject.toml, or it is left out of the wheel"
    )


@pytest.mark.parametrize("name", sorted(ENTRY_POINTS))
def test_a_built_in_entry_point_points_at_a_plugin_folder_that_exists(name: str) -> None:
    value = ENTRY_POINTS[name]
    folder = folder_of(module_of(value))
    if not module_of(value).startswith("nudged_plugins"):
        pytest.fail(f'entry point {name} = "{value}": built-in plugins live in nudged_plugins.*')
    assert folder in PLUGIN_FOLDERS, (
        f'entry point {name} = "{value}" names plugins/{folder}/, which has no __init__.py'
    )


def test_every_listed_package_is_a_folder_and_every_package_folder_is_listed() -> None:
    roots = {"nudged": REPO / "nudged", "nudged_plugins": REPO / PACKAGE_DIRS["nudged_plugins"]}

    def folder(package: str) -> Path:
        first, *rest = package.split(".")
        return roots[first].joinpath(*rest)

    # A listed package may be a plain data folder (nudged.data); it must exist.
    listed_without_folder = [p for p in PACKAGES if not folder(p).is_dir()]
    assert not listed_without_folder, (
        f"pyproject.toml lists packages that have no folder: {', '.join(listed_without_folder)}"
    )
    on_disk = {
        ".".join((name, *init.parent.relative_to(root).parts))
        for name, root in roots.items()
        for init in root.rglob("__init__.py")
        if "__pycache__" not in init.parts
    }
    unlisted = sorted(on_disk - set(PACKAGES))
    assert not unlisted, (
        f"these packages are not in [tool.setuptools] packages and would be missing from "
        f"the wheel: {', '.join(unlisted)}"
    )


# -- (b) the installed environment sees them ---------------------------------------------


def test_the_installed_entry_points_include_every_built_in_plugin() -> None:
    installed = {ep.name: ep for ep in importlib.metadata.entry_points(group="nudged")}
    missing = sorted(set(ENTRY_POINTS) - set(installed))
    assert not missing, (
        f"entry points {', '.join(missing)} are in pyproject.toml but not installed; "
        "reinstall with: pip install -e ."
    )
    for name, value in ENTRY_POINTS.items():
        ep = installed[name]
        assert ep.value == value, (
            f"installed entry point {name} = {ep.value!r}, but pyproject.toml says {value!r}"
        )
        assert ep.value.startswith("nudged_plugins."), ep.value
        assert ep.dist is not None and ep.dist.name == "nudged", (
            f"entry point {name} comes from {ep.dist.name if ep.dist else 'nowhere'}, not nudged"
        )
        assert callable(ep.load()), f"entry point {name} does not load a plugin class"


# -- (c) built-in plugins use only the public API ----------------------------------------


def imports(path: Path) -> list[tuple[int, str, list[str]]]:
    """(line, module, names) for every absolute import in a file."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module, [a.name for a in node.names]))
        elif isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name, []) for alias in node.names)
    return found


def test_built_in_plugins_import_only_the_public_api() -> None:
    public = {
        "nudged": set(nudged.__all__),
        "nudged.humanize": set(nudged.humanize.__all__),
        "nudged.dbus": set(nudged.dbus.__all__),
        "nudged.desktop": set(nudged.desktop.__all__),
    }
    problems = []
    for path in python_files(REPO / "plugins"):
        where = path.relative_to(REPO)
        for line, module, names in imports(path):
            if module != "nudged" and not module.startswith("nudged."):
                continue
            if module not in public:
                others = ", ".join(sorted(public)[1:])
                problems.append(f"{where}:{line}: imports {module}, which is not public API "
                                f"(use `from nudged import ...` or {others})")
                continue
            private = sorted(set(names) - public[module])
            if private:
                problems.append(f"{where}:{line}: imports {', '.join(private)} from {module}, "
                                f"which is not in {module}.__all__")
    assert not problems, "\n".join(problems)


def test_nudged_never_imports_its_built_in_plugins() -> None:
    # The core must work with any set of plugins; built-ins come in through entry points.
    problems = []
    for path in python_files(REPO / "nudged"):
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        for line, module, _ in imports(path):
            if module.split(".")[0] == "nudged_plugins":
                problems.append(f"{path.relative_to(REPO)}:{line}: imports {module}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and node.args
                and isinstance(node.args[0], ast.Constant)
                and isinstance(node.args[0].value, str)
                and node.args[0].value.startswith("nudged_plugins")
                and getattr(node.func, "attr", getattr(node.func, "id", ""))
                in ("import_module", "__import__", "find_spec")
            ):
                problems.append(f"{path.relative_to(REPO)}:{node.lineno}: imports "
                                f"{node.args[0].value} dynamically")
    assert not problems, "\n".join(problems)


# -- (d) the wheel holds the plugins and real data files ---------------------------------


def can_build_without_isolation() -> bool:
    """setuptools >= 68 with a ``bdist_wheel`` command (its own since 70.1, or ``wheel``)."""
    try:
        version = tuple(int(p) for p in importlib.metadata.version("setuptools").split(".")[:2])
    except (importlib.metadata.PackageNotFoundError, ValueError):
        return False
    has_bdist_wheel = version >= (70, 1) or importlib.util.find_spec("wheel") is not None
    return version >= (68, 0) and has_bdist_wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Iterator[zipfile.ZipFile]:
    """A wheel built from a copy of the sources (building in place would leave build/ and
    *.egg-info in the work tree). The symlinks in nudged/data/ are copied as symlinks."""
    tmp = tmp_path_factory.mktemp("wheel")
    source = tmp / "src"
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "*.egg-info", "build", "dist")
    source.mkdir()
    for name in ("pyproject.toml", "README.md", "config.example.toml"):
        shutil.copy2(REPO / name, source / name)
    for name in ("nudged", "plugins", "systemd"):
        shutil.copytree(REPO / name, source / name, symlinks=True, ignore=ignore)
    out = tmp / "dist"
    command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out)]
    if can_build_without_isolation():
        command.append("--no-build-isolation")
    # Otherwise pip fetches [build-system] requires, as `pip install -e .` does.
    result = subprocess.run([*command, str(source)], capture_output=True, text=True,
                            timeout=300, check=False)
    assert result.returncode == 0, f"{' '.join(command)} failed:\n{result.stdout}{result.stderr}"
    (built,) = out.glob("nudged-*.whl")
    with zipfile.ZipFile(built) as archive:
        yield archive


SYMLINK = 0o120000


@pytest.mark.parametrize("member", [
    "nudged_plugins/__init__.py",
    *(f"nudged_plugins/{folder}/__init__.py" for folder in PLUGIN_FOLDERS),
    "nudged/py.typed",
    # What nudged installs into the desktop: the GNOME Shell extension, the KWin
    # script, and the templates of `nudged plugins new`.
    "nudged/data/gnome-shell/nudged-focus@nudged.github.io/focus.js",
    "nudged/data/kwin/nudged-focus/contents/code/main.js",
    "nudged/data/kwin/nudged-focus/metadata.json",
    *(f"nudged/data/scaffold/{p.name}" for p in sorted(
        (REPO / "nudged" / "data" / "scaffold").glob("*.tmpl"))),
])
def test_the_wheel_contains_the_built_in_plugins(wheel: zipfile.ZipFile, member: str) -> None:
    assert member in wheel.namelist(), f"{member} is missing from the wheel"


@pytest.mark.parametrize(("member", "original"), [
    ("nudged/data/config.example.toml", "config.example.toml"),
    ("nudged/data/nudged.service", "systemd/nudged.service"),
])
def test_the_wheel_contains_the_data_files_as_text_not_links(
    wheel: zipfile.ZipFile, member: str, original: str
) -> None:
    assert member in wheel.namelist(), f"{member} is missing from the wheel"
    info = wheel.getinfo(member)
    assert (info.external_attr >> 16) & 0o170000 != SYMLINK, f"{member} is a symlink in the wheel"
    text = wheel.read(member).decode("utf-8")
    assert text == (REPO / original).read_text(encoding="utf-8"), (
        f"{member} in the wheel is not the content of {original}"
    )


def test_nudged_runs_from_the_wheel_alone(wheel: zipfile.ZipFile, tmp_path: Path) -> None:
    # Unpacked ahead of the editable install on sys.path, so every nudged module comes
    # from the wheel: a package missing from it fails here, as it would for a user.
    site = tmp_path / "site"
    wheel.extractall(site)
    example = site / "nudged" / "data" / "config.example.toml"
    script = f"""
import sys
# The editable install's import hook would quietly fill in what the wheel lacks.
sys.meta_path[:] = [f for f in sys.meta_path if "__editable__" not in f.__module__]
from nudged.cli import main
code = main(["config", "check", sys.argv[1]]) or main(["plugins", "--json"])
strays = [
    f"{{name}} from {{module.__file__}}" for name, module in sorted(sys.modules.items())
    if name.split(".")[0] in ("nudged", "nudged_plugins")
    and not (module.__file__ or "").startswith({str(site)!r})
]
assert not strays, "not from the wheel: " + ", ".join(strays)
sys.exit(code)
"""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    env["PYTHONPATH"] = str(site)
    result = subprocess.run([sys.executable, "-c", script, str(example)], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, f"nudged from the wheel failed:\n{result.stdout}{result.stderr}"
    rows = json.loads(result.stdout[result.stdout.index("["):])
    statuses = {row["name"]: row["status"] for row in rows}
    # Opt-in plugins (sleep_window, movement) load fine and wait for their table.
    assert all(statuses.get(name) in ("ok", "disabled") for name in ENTRY_POINTS), statuses
    assert not [r for r in rows if r["status"] == "disabled"
                and not r["reason"].startswith("opt-in:")], rows


def test_the_wheel_declares_every_built_in_entry_point(wheel: zipfile.ZipFile) -> None:
    (name,) = [n for n in wheel.namelist() if n.endswith(".dist-info/entry_points.txt")]
    text = wheel.read(name).decode("utf-8")
    section = text.split("[nudged]", 1)[1].split("\n[", 1)[0] if "[nudged]" in text else ""
    declared = {
        key.strip(): value.strip()
        for key, _, value in (line.partition("=") for line in section.splitlines())
        if key.strip()
    }
    assert declared == ENTRY_POINTS
