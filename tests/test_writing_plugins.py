"""Writing a plugin is what docs/writing-plugins.md says, and what it says keeps working.

* Every code block of the tutorial carries a marker saying what it is, and is checked
  against the example package (``examples/nudged-daylight``) or run:

  ``<!-- file: PATH -->``         the block is the whole file PATH
  ``<!-- from: PATH -->``         the block is a run of whole lines of PATH, verbatim
  ``<!-- tree: PATH -->``         the block lists the files of the package at PATH
  ``<!-- config -->``             a config.toml that nudged accepts with the example plugin
  ``<!-- config: invalid -->``    one that it refuses (the output block after it says how)
  ``<!-- shell -->``              commands; every ``nudged ...`` line parses
  ``<!-- output: nudged ARGS -->`` what ``nudged ARGS`` prints with the example installed and
                                  the config block above it as config.toml: every line of
                                  the block is in the output, in order (``~`` is the home
                                  folder; runs of spaces count as one)
  ``<!-- single-file: NAME -->``  a single-file plugin that loads and nudges from the
                                  config folder as NAME.py

* The example package's own tests pass, using only ``nudged.testing``, and nudged finds
  it, validates its config and shows its nudge, as an installed package.
* ``nudged plugins new`` writes a package whose test passes and that nudged finds.

"Installed" here is what ``pip install -e`` leaves behind, made without pip (a
``.dist-info`` folder with the entry points, and ``src/`` on the path), so these run in
a second. The test marked ``slow`` does it for real: a fresh virtual environment,
nudged's wheel, ``pip install -e`` of a new plugin and of the example.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
import time
import tomllib
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from test_packaging import wheel

import nudged
import nudged.testing
from nudged import scaffold
from nudged.cli import _parser, main
from nudged.testing import load_plugins, simulate

__all__ = ["wheel"]  # a fixture, imported to be used here

REPO = Path(__file__).resolve().parent.parent
TUTORIAL = REPO / "docs" / "writing-plugins.md"
HOOKS_MD = REPO / "docs" / "hooks.md"
EXAMPLE = REPO / "examples" / "nudged-daylight"

FENCE = re.compile(r"^```(\w*)[ \t]*\n(.*?)^```[ \t]*$", re.M | re.S)
MARKER = re.compile(r"^<!--\s*([\w-]+)(?::\s*(.*?))?\s*-->$")
KINDS = {"file", "from", "tree", "config", "shell", "output", "single-file"}
#: What a package folder holds besides its sources, once used.
CLUTTER = ("__pycache__", ".egg-info", ".pytest_cache", "build", "dist")


@dataclass
class Block:
    line: int
    lang: str
    code: str
    kind: str  # the marker's kind, or "" when the block has none
    arg: str
    config: str  # the text of the closest config block above it

    @property
    def where(self) -> str:
        return f"docs/writing-plugins.md:{self.line}"


def tutorial_blocks() -> list[Block]:
    text = TUTORIAL.read_text(encoding="utf-8")
    found: list[Block] = []
    config = ""
    for match in FENCE.finditer(text):
        before = [line for line in text[: match.start()].splitlines() if line.strip()]
        marker = MARKER.match(before[-1].strip()) if before else None
        kind, arg = (marker.group(1), marker.group(2) or "") if marker else ("", "")
        block = Block(text.count("\n", 0, match.start(2)) + 1, match.group(1), match.group(2),
                      kind, arg, config)
        if kind == "config":
            config = block.code
        found.append(block)
    return found


BLOCKS = tutorial_blocks() if TUTORIAL.is_file() else []


def of_kind(*kinds: str) -> list[Block]:
    return [b for b in BLOCKS if b.kind in kinds]


def package_files(folder: Path) -> list[str]:
    return sorted(
        str(p.relative_to(folder)) for p in folder.rglob("*")
        if p.is_file() and not any(c in part for part in p.relative_to(folder).parts
                                   for c in CLUTTER)
    )


# -- installing without pip ------------------------------------------------------------


def fake_install(package: Path, site: Path) -> dict[str, str]:
    """What ``pip install -e package`` leaves for nudged to find, made by hand: a
    ``.dist-info`` folder with the package's entry points in ``site``, and ``site`` and
    the package's ``src/`` on ``PYTHONPATH``. Returns the environment for a subprocess."""
    project = tomllib.loads((package / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    name, version = project["name"], project["version"]
    dist = site / f"{name.replace('-', '_')}-{version}.dist-info"
    dist.mkdir(parents=True)
    (dist / "METADATA").write_text(
        f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
    groups = [f"[{group}]\n" + "".join(f"{key} = {value}\n" for key, value in eps.items())
              for group, eps in project.get("entry-points", {}).items()]
    (dist / "entry_points.txt").write_text("\n".join(groups), encoding="utf-8")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "NUDGED_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(site), str(package / "src")])
    env["PYTHONDONTWRITEBYTECODE"] = "1"  # keep the work tree clean
    return env


def nudged_cli(args: list[str], env: dict[str, str], python: str = sys.executable,
               ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, "-m", "nudged", *args], env=env, capture_output=True,
                          text=True, timeout=120, check=False)


def run_pytest(folder: Path, env: dict[str, str], python: str = sys.executable,
               ) -> subprocess.CompletedProcess[str]:
    return subprocess.run([python, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=folder,
                          env=env, capture_output=True, text=True, timeout=300, check=False)


@pytest.fixture
def example_env(tmp_path: Path) -> dict[str, str]:
    """The example plugin, installed (without pip) for subprocesses."""
    return fake_install(EXAMPLE, tmp_path / "site")


@pytest.fixture
def daylight_plugin(monkeypatch: pytest.MonkeyPatch) -> type:
    """The example's plugin class, imported from its source folder."""
    monkeypatch.syspath_prepend(str(EXAMPLE / "src"))
    from nudged_daylight import DaylightPlugin

    return DaylightPlugin


# -- the tutorial's blocks -------------------------------------------------------------


def test_the_tutorial_has_blocks_of_every_kind() -> None:
    assert TUTORIAL.is_file(), "docs/writing-plugins.md, the tutorial, is missing"
    missing = KINDS - {b.kind for b in BLOCKS}
    assert not missing, f"the tutorial has no block marked {', '.join(sorted(missing))}"


def test_every_code_block_of_the_tutorial_says_what_it_is() -> None:
    unmarked = [f"{b.where} ({b.kind or 'no marker'})" for b in BLOCKS if b.kind not in KINDS]
    assert not unmarked, (
        "every code block in docs/writing-plugins.md needs a marker line before it, one of "
        f"<!-- {' | '.join(sorted(KINDS))} -->; these have none (or an unknown one): "
        f"{', '.join(unmarked)}")


@pytest.mark.parametrize("block", of_kind("file"), ids=lambda b: b.where)
def test_a_file_block_is_the_whole_file(block: Block) -> None:
    path = REPO / block.arg
    assert path.is_file(), f"{block.where}: {block.arg} does not exist"
    assert block.code == path.read_text(encoding="utf-8"), (
        f"{block.where}: the block is not the content of {block.arg}; copy the file again")


@pytest.mark.parametrize("block", of_kind("from"), ids=lambda b: b.where)
def test_a_from_block_is_a_verbatim_run_of_lines_of_its_file(block: Block) -> None:
    path = REPO / block.arg
    assert path.is_file(), f"{block.where}: {block.arg} does not exist"
    lines = path.read_text(encoding="utf-8").splitlines()
    excerpt = block.code.splitlines()
    assert excerpt, f"{block.where}: an empty block"
    starts = [i for i, line in enumerate(lines) if lines[i:i + len(excerpt)] == excerpt]
    assert starts, (
        f"{block.where}: these {len(excerpt)} lines are not, as they stand, lines of "
        f"{block.arg} (starting with {excerpt[0]!r}); copy them from the file again")


@pytest.mark.parametrize("block", of_kind("tree"), ids=lambda b: b.where)
def test_a_tree_block_lists_the_files_of_the_package(block: Block) -> None:
    root, *entries = [line.strip() for line in block.code.splitlines() if line.strip()]
    folder = REPO / block.arg
    assert root == f"{folder.name}/", f"{block.where}: the tree starts at {root}"
    assert sorted(entries) == package_files(folder), (
        f"{block.where}: the tree lists {sorted(entries)}, the folder has "
        f"{package_files(folder)}")


@pytest.mark.parametrize("block", of_kind("config"), ids=lambda b: b.where)
def test_a_config_block_is_what_nudged_accepts_or_refuses(block: Block,
                                                          daylight_plugin: type) -> None:
    loaded = load_plugins(block.code, plugins={"daylight": daylight_plugin()}, builtins=False)
    if block.arg == "invalid":
        assert loaded.problems, f"{block.where}: nudged accepts this config"
    else:
        assert loaded.problems == [], f"{block.where}: nudged refuses it: {loaded.problems}"
        assert loaded.status("daylight") == ("ok", "")


@pytest.mark.parametrize("block", of_kind("shell"), ids=lambda b: b.where)
def test_a_shell_block_has_only_nudged_commands_that_exist(block: Block) -> None:
    for line in block.code.splitlines():
        words = shlex.split(line, comments=True)
        if words[:1] == ["nudged"]:
            try:
                _parser().parse_args(words[1:])
            except SystemExit:
                pytest.fail(f"{block.where}: nudged does not take {line!r}")


def normalized(text: str, home: Path) -> list[str]:
    return [" ".join(line.replace(str(home), "~").split()) for line in text.splitlines()]


@pytest.mark.parametrize("block", of_kind("output"), ids=lambda b: b.where)
def test_an_output_block_is_what_nudged_prints(block: Block, example_env: dict[str, str],
                                               private_home: Path) -> None:
    config = Path(os.environ["XDG_CONFIG_HOME"]) / "nudged" / "config.toml"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(block.config, encoding="utf-8")
    words = shlex.split(block.arg)
    assert words[0] == "nudged", f"{block.where}: an output block names a nudged command"
    result = nudged_cli(words[1:], example_env)
    printed = normalized(result.stdout + result.stderr, private_home)
    expected = normalized(block.code, private_home)
    position = 0
    for line in expected:
        try:
            position = printed.index(line, position) + 1
        except ValueError:
            pytest.fail(f"{block.where}: `{block.arg}` does not print {line!r} (after the "
                        f"lines before it); it printed:\n{result.stdout}{result.stderr}")


@pytest.mark.parametrize("block", of_kind("single-file"), ids=lambda b: b.where)
def test_a_single_file_plugin_loads_from_the_config_folder_and_nudges(block: Block) -> None:
    folder = Path(os.environ["XDG_CONFIG_HOME"]) / "nudged" / "plugins"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{block.arg}.py").write_text(block.code, encoding="utf-8")
    loaded = load_plugins()
    assert loaded.status(block.arg) == ("ok", "")
    assert loaded.host.records[block.arg].distribution == "(single file)"
    sim = simulate('[core]\ntimezone = "UTC"\n', days=7, present=["08:00-18:00"])
    assert [key for _, key in sim.shown() if key.startswith(f"{block.arg}:")], (
        f"{block.where}: the single-file plugin showed no nudge in a simulated week")


# -- the example package ---------------------------------------------------------------


def test_the_example_package_declares_its_plugin_in_the_nudged_group() -> None:
    project = tomllib.loads((EXAMPLE / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    assert project["entry-points"]["nudged"] == {"daylight": "nudged_daylight:DaylightPlugin"}
    assert package_files(EXAMPLE) == ["README.md", "pyproject.toml",
                                      "src/nudged_daylight/__init__.py",
                                      "tests/test_daylight.py"]


def test_the_example_imports_only_the_public_api() -> None:
    from test_packaging import imports

    public = {"nudged": set(nudged.__all__), "nudged.humanize": set(nudged.humanize.__all__),
              "nudged.testing": set(nudged.testing.__all__)}
    problems = []
    for path in sorted(EXAMPLE.rglob("*.py")):
        for line, module, names in imports(path):
            if module == "nudged" or module.startswith("nudged."):
                private = set(names) - public.get(module, set())
                if module not in public or private:
                    problems.append(f"{path.relative_to(REPO)}:{line}: {module} "
                                    f"{sorted(private)}")
    assert not problems, "the example uses what is not public API:\n" + "\n".join(problems)


def test_the_example_packages_own_tests_pass(example_env: dict[str, str]) -> None:
    result = run_pytest(EXAMPLE, example_env)
    assert result.returncode == 0, f"the example's tests fail:\n{result.stdout}{result.stderr}"
    assert re.search(r"\b12 passed\b", result.stdout), result.stdout


def test_nudged_finds_the_example_validates_its_config_and_shows_its_nudge(
        example_env: dict[str, str], private_home: Path) -> None:
    listed = nudged_cli(["plugins", "--json"], example_env)
    rows = {row["name"]: row for row in json.loads(listed.stdout)}
    assert rows["daylight"]["status"] == "ok", rows["daylight"]
    assert rows["daylight"]["distribution"] == "nudged-daylight"
    config = private_home / ".config" / "nudged" / "config.toml"
    config.parent.mkdir(parents=True)
    config.write_text('[plugins.daylight]\nbefore = "12:30"\n', encoding="utf-8")
    checked = nudged_cli(["config", "check"], example_env)
    assert checked.returncode == 2
    assert checked.stderr == (f'{config}:2: plugins.daylight.before: "12:30" is not later than '
                              "after (13:00)\n")
    config.write_text('[core]\ntimezone = "UTC"\n[plugins.daylight]\n', encoding="utf-8")
    preview = nudged_cli(["preview", "--from", "2026-03-02 00:00", "--days", "1", "--json"],
                         example_env)
    shown = [(i["at"], i["nudge"]) for i in json.loads(preview.stdout) if i["shown"]]
    assert ("2026-03-02T13:00:00+00:00", "daylight:outside") in shown


# -- nudged plugins new --------------------------------------------------------------


@pytest.mark.parametrize("name", ["Hydrate", "eye-rest", "2fast", "_x", "a" * 41, ""])
def test_a_new_plugin_needs_a_name_nudged_can_use(name: str, tmp_path: Path,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    folder = tmp_path / "src"
    assert main(["plugins", "new", name, "--dir", str(folder)]) == 1
    assert capsys.readouterr().err == (
        f"nudged: {name!r} is not a plugin name: use lowercase letters, digits and "
        "underscores, starting with a letter, at most 40 characters (like hydrate or "
        "eye_rest)\n")
    assert not folder.exists()


def test_a_new_plugin_cannot_take_the_name_of_an_installed_one(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "new", "movement", "--dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        "nudged: there is already a plugin named movement (nudged_plugins.movement:"
        "MovementPlugin from nudged); pick another name\n")


def test_a_new_plugin_never_overwrites(tmp_path: Path,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    existing = tmp_path / "nudged-hydrate"
    existing.mkdir()
    (existing / "notes.txt").write_text("mine", encoding="utf-8")
    assert main(["plugins", "new", "hydrate", "--dir", str(tmp_path)]) == 1
    assert capsys.readouterr().err == (
        f"nudged: {existing} already exists; nothing was written (remove it, or choose "
        "another folder with --dir)\n")
    assert [p.name for p in existing.iterdir()] == ["notes.txt"]


def test_the_names_of_a_new_plugin() -> None:
    values = scaffold.names("eye_rest")
    assert {k: values[k] for k in ("module", "dist", "cls", "title")} == {
        "module": "nudged_eye_rest", "dist": "nudged-eye-rest", "cls": "EyeRest",
        "title": "Eye rest"}


def test_a_new_plugin_package_works_as_written(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plugins", "new", "eye_rest", "--dir", str(tmp_path)]) == 0
    assert "pip install -e" in capsys.readouterr().out
    package = tmp_path / "nudged-eye-rest"
    assert package_files(package) == ["README.md", "pyproject.toml",
                                      "src/nudged_eye_rest/__init__.py",
                                      "tests/test_eye_rest.py"]
    project = tomllib.loads((package / "pyproject.toml").read_text(encoding="utf-8"))
    assert project["project"]["name"] == "nudged-eye-rest"
    assert project["project"]["entry-points"]["nudged"] == {
        "eye_rest": "nudged_eye_rest:EyeRestPlugin"}
    source = (package / "src" / "nudged_eye_rest" / "__init__.py").read_text(encoding="utf-8")
    assert f"nudged_api = {nudged.PLUGIN_API_VERSION}" in source
    lint = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", "--isolated",
                           "--select", "E,F,W,B", str(package)],
                          capture_output=True, text=True, timeout=60, check=False)
    assert lint.returncode == 0, f"the new plugin's code has lint:\n{lint.stdout}"
    env = fake_install(package, tmp_path / "site")
    tested = run_pytest(package, env)
    assert tested.returncode == 0, f"the new plugin's tests fail:\n{tested.stdout}{tested.stderr}"
    assert re.search(r"\b3 passed\b", tested.stdout), tested.stdout
    rows = {r["name"]: r for r in json.loads(nudged_cli(["plugins", "--json"], env).stdout)}
    assert (rows["eye_rest"]["status"], rows["eye_rest"]["distribution"]) == (
        "ok", "nudged-eye-rest")
    preview = nudged_cli(["preview", "--from", "2026-03-02 00:00", "--days", "1", "--json"], env)
    assert any(i["nudge"] == "eye_rest:reminder" and i["shown"]
               for i in json.loads(preview.stdout))


def test_the_example_in_nudged_testings_docstring_passes() -> None:
    doc = nudged.testing.__doc__ or ""
    code = doc.split("::\n", 1)[1].split("\n\n:func:", 1)[0]
    namespace: dict[str, object] = {}
    exec(compile(textwrap.dedent(code), "nudged/testing.py (docstring)", "exec"), namespace)
    tests = [f for name, f in namespace.items() if name.startswith("test_") and callable(f)]
    assert len(tests) == 1
    tests[0](simulate)


# -- the public API is documented -------------------------------------------------------


@pytest.mark.parametrize("module", [nudged, nudged.testing], ids=lambda m: m.__name__)
def test_every_public_name_is_documented_in_the_api_section(module: object) -> None:
    text = HOOKS_MD.read_text(encoding="utf-8")
    section = text.split("\n## API stability", 1)[-1].split("\n## ", 1)[0]
    assert "\n## API stability" in text, "docs/hooks.md has no '## API stability' section"
    missing = [n for n in module.__all__  # type: ignore[attr-defined]
               if not re.search(rf"`{re.escape(n)}\b", section)]
    assert not missing, (
        f"{module.__name__}.__all__ names {', '.join(missing)}, which the API stability "  # type: ignore[attr-defined]
        "section of docs/hooks.md does not list")


def test_every_plugin_api_version_is_in_the_history() -> None:
    text = HOOKS_MD.read_text(encoding="utf-8")
    for version in range(1, nudged.PLUGIN_API_VERSION + 1):
        assert re.search(rf"^\| {version} \|", text, re.M), (
            f"docs/hooks.md has no row for plugin API version {version} in its history")


# -- the real thing: a fresh virtual environment ---------------------------------------


@pytest.mark.slow
def test_in_a_fresh_environment_a_new_plugin_and_the_example_work(
        wheel: zipfile.ZipFile, tmp_path: Path) -> None:
    """Install nudged's wheel into a new venv (dependencies from the package index),
    then `nudged plugins new hydrate`, `pip install -e` it, run its test, and see it in
    `nudged plugins` and `nudged preview`; the same for the example package."""
    began = time.monotonic()
    venv = tmp_path / "venv"
    python = str(venv / "bin" / "python")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "NUDGED_"))}
    env["PYTHONDONTWRITEBYTECODE"] = "1"

    def run(*command: str, cwd: Path | None = None) -> str:
        result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True,
                                timeout=600, check=False)
        assert result.returncode == 0, (
            f"{' '.join(command)} failed ({result.returncode}):\n{result.stdout}{result.stderr}")
        return result.stdout

    run(sys.executable, "-m", "venv", str(venv))
    run(python, "-m", "pip", "install", "-q", wheel.filename or "", "pytest")
    work = tmp_path / "work"
    run(str(venv / "bin" / "nudged"), "plugins", "new", "hydrate", "--dir", str(work))
    shutil.copytree(EXAMPLE, work / "nudged-daylight",
                    ignore=shutil.ignore_patterns("*.egg-info", "__pycache__", "build"))
    for name, count, nudge in (("hydrate", 3, "hydrate:reminder"),
                               ("daylight", 12, "daylight:outside")):
        package = work / ("nudged-hydrate" if name == "hydrate" else "nudged-daylight")
        run(python, "-m", "pip", "install", "-q", "-e", f"{package}[test]")
        tested = run(python, "-m", "pytest", "-q", "-p", "no:cacheprovider", cwd=package)
        assert re.search(rf"\b{count} passed\b", tested), tested
        rows = {r["name"]: r for r in json.loads(run(python, "-m", "nudged", "plugins", "--json"))}
        assert rows[name]["status"] == "ok", rows[name]
        items = json.loads(run(python, "-m", "nudged", "preview", "--from", "2026-03-02 00:00",
                               "--days", "1", "--json"))
        assert any(i["nudge"] == nudge and i["shown"] for i in items), items
    print(f"fresh environment, two plugins installed and checked in "
          f"{time.monotonic() - began:.0f} s")
