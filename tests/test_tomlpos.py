"""Tests for nudged.tomlpos: line numbers for keys in TOML config files."""

from __future__ import annotations

import datetime as dt
import random
import re
import tomllib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nudged.tomlpos import KeyPath, line_for, locate_keys

EXAMPLE = """\
# my nudges
[core]
timezone = "Europe/Berlin"
max_per_hour = 4

[plugins.quiet]
hours = ["12:30-13:15",
         "mon-fri 16:00-16:30"]

[[plugins.custom.nudges]]
id = "water"
title = \"\"\"Water
break\"\"\"
every = "2h"

[[plugins.custom.nudges]]
id = "posture"
at = ["10:30", "15:00"]
days = "mon-fri"

[plugins.screen_time]
daily = { "mon-fri" = "8h", "sat,sun" = "5h" }
"""

NUDGES = ("plugins", "custom", "nudges")


def _located(text: str) -> dict[KeyPath, int]:
    """Locate keys, after checking the document really is valid TOML."""
    tomllib.loads(text)
    return locate_keys(text)


def _paths(value: Any, prefix: KeyPath = ()) -> set[KeyPath]:
    """Every key/index path in a parsed document (what the locator may record)."""
    paths: set[KeyPath] = set()
    children: list[tuple[str | int, Any]] = []
    if isinstance(value, dict):
        children = list(value.items())
    elif isinstance(value, list):
        children = list(enumerate(value))
    for key, child in children:
        path = (*prefix, key)
        paths.add(path)
        paths |= _paths(child, path)
    return paths


# -- realistic documents -------------------------------------------------


def test_example_document_exact() -> None:
    assert _located(EXAMPLE) == {
        ("core",): 2,
        ("core", "timezone"): 3,
        ("core", "max_per_hour"): 4,
        ("plugins",): 6,
        ("plugins", "quiet"): 6,
        ("plugins", "quiet", "hours"): 7,
        ("plugins", "quiet", "hours", 0): 7,
        ("plugins", "quiet", "hours", 1): 8,
        ("plugins", "custom"): 10,
        NUDGES: 10,
        (*NUDGES, 0): 10,
        (*NUDGES, 0, "id"): 11,
        (*NUDGES, 0, "title"): 12,
        (*NUDGES, 0, "every"): 14,
        (*NUDGES, 1): 16,
        (*NUDGES, 1, "id"): 17,
        (*NUDGES, 1, "at"): 18,
        (*NUDGES, 1, "at", 0): 18,
        (*NUDGES, 1, "at", 1): 18,
        (*NUDGES, 1, "days"): 19,
        ("plugins", "screen_time"): 21,
        ("plugins", "screen_time", "daily"): 22,
        ("plugins", "screen_time", "daily", "mon-fri"): 22,
        ("plugins", "screen_time", "daily", "sat,sun"): 22,
    }


def test_example_named_paths() -> None:
    positions = _located(EXAMPLE)
    assert positions[(*NUDGES, 1, "days")] == 19
    assert positions[("plugins", "quiet", "hours", 1)] == 8
    assert positions[("plugins", "screen_time", "daily", "sat,sun")] == 22
    assert positions[(*NUDGES, 0)] == 10
    assert positions[(*NUDGES, 0, "every")] == 14


def test_locator_paths_match_parsed_document() -> None:
    """No phantom keys, nothing missing: same paths as tomllib sees."""
    assert set(_located(EXAMPLE)) == _paths(tomllib.loads(EXAMPLE))


def test_crlf_line_endings() -> None:
    text = EXAMPLE.replace("\n", "\r\n")
    assert _located(text) == _located(EXAMPLE)


def test_utf8_bom_is_skipped() -> None:
    assert locate_keys("\ufeff" + EXAMPLE) == _located(EXAMPLE)


STRINGS = '''\
[[plugins.custom.nudges]]
id = "stretch"
body = """
fake = "not a key"
[not.a.table]
[[nor.this]]
ends with quotes ""\\"""
"""
message = \'\'\'
raw = 'also not a key' # nor a comment
[fake]
\'\'\'
quotes = """"quoted inside\""""
folded = """\\
    every = "1m" \\
    """
escaped = "quote \\" # = not a comment"
path = 'C:\\path\\ # = still the string'
every = "30m"  # a comment = here
literal_run = \'\'\'\'two\'\'\'\'\'
after = 1
'''


def test_multiline_strings_do_not_produce_phantom_keys() -> None:
    data = tomllib.loads(STRINGS)
    nudge = data["plugins"]["custom"]["nudges"][0]
    assert "fake =" in nudge["body"] and "[fake]" in nudge["message"]
    assert nudge["quotes"] == '"quoted inside"'
    positions = _located(STRINGS)
    assert set(positions) == _paths(data)
    assert not any("fake" in path or "nor" in path or "raw" in path for path in positions)
    base = (*NUDGES, 0)
    assert positions[(*base, "body")] == 3
    assert positions[(*base, "message")] == 9
    assert positions[(*base, "quotes")] == 13
    assert positions[(*base, "folded")] == 14
    assert positions[(*base, "escaped")] == 17
    assert positions[(*base, "path")] == 18
    assert positions[(*base, "every")] == 19
    assert positions[(*base, "literal_run")] == 20
    assert positions[(*base, "after")] == 21


NESTED_AOT = """\
[[plugins.custom.nudges]]
id = "eyes"

  [[plugins.custom.nudges.actions]]
  label = "Snooze"

  [[plugins.custom.nudges.actions]]
  label = "Done"

  [plugins.custom.nudges.style]
  urgency = "low"

[plugins.quiet]
hours = []

[[plugins.custom.nudges]]
id = "walk"

  [[plugins.custom.nudges.actions]]
  label = "Later"
"""


def test_nested_array_of_tables() -> None:
    positions = _located(NESTED_AOT)
    assert set(positions) == _paths(tomllib.loads(NESTED_AOT))
    assert positions[(*NUDGES, 0)] == 1
    assert positions[(*NUDGES, 0, "actions")] == 4
    assert positions[(*NUDGES, 0, "actions", 0)] == 4
    assert positions[(*NUDGES, 0, "actions", 1)] == 7
    assert positions[(*NUDGES, 0, "actions", 1, "label")] == 8
    assert positions[(*NUDGES, 0, "style", "urgency")] == 11
    assert positions[("plugins", "quiet", "hours")] == 14
    # Counting restarts per parent element and survives the [plugins.quiet] gap.
    assert positions[(*NUDGES, 1)] == 16
    assert positions[(*NUDGES, 1, "id")] == 17
    assert positions[(*NUDGES, 1, "actions")] == 19
    assert positions[(*NUDGES, 1, "actions", 0, "label")] == 20
    assert (*NUDGES, 2) not in positions


KEYS_AND_ARRAYS = """\
core.timezone = "UTC"
core . "log-level" = 'debug'
'quoted.dot' = 1
"uni\\u00e9" = true
"" = "empty key"
1234 = "bare digits"
3.14 = "dotted digits"

[ plugins . "screen_time" ]  # spaced header
limits = [
  { days = "mon-fri", max = "8h" },  # weekdays
  # a comment line inside the array
  { days = "sat,sun", max = { hard = "5h", soft = "4h" } },
]
nested = [[1, 2], [
  3,
  4,
]]
start = 2024-01-01 08:00:00 # space-separated datetime
lunch = 12:30:00
[plugins.screen_time.sub]
x = { a.b = 1 }
"""


def test_dotted_quoted_keys_and_arrays() -> None:
    data = tomllib.loads(KEYS_AND_ARRAYS)
    positions = _located(KEYS_AND_ARRAYS)
    assert set(positions) == _paths(data)
    assert positions[("core",)] == 1
    assert positions[("core", "timezone")] == 1
    assert positions[("core", "log-level")] == 2
    assert positions[("quoted.dot",)] == 3
    assert positions[("unié",)] == 4
    assert positions[("",)] == 5
    assert positions[("1234",)] == 6
    assert positions[("3", "14")] == 7
    st_ = ("plugins", "screen_time")
    assert positions[st_] == 9
    assert positions[(*st_, "limits")] == 10
    assert positions[(*st_, "limits", 0)] == 11
    assert positions[(*st_, "limits", 0, "max")] == 11
    assert positions[(*st_, "limits", 1)] == 13
    assert positions[(*st_, "limits", 1, "max", "soft")] == 13
    assert positions[(*st_, "nested", 0)] == 15
    assert positions[(*st_, "nested", 0, 1)] == 15
    assert positions[(*st_, "nested", 1)] == 15
    assert positions[(*st_, "nested", 1, 0)] == 16
    assert positions[(*st_, "nested", 1, 1)] == 17
    assert positions[(*st_, "start")] == 19
    assert positions[(*st_, "lunch")] == 20
    assert positions[(*st_, "sub", "x", "a", "b")] == 22


def test_explicit_header_beats_first_implicit_mention() -> None:
    text = "[plugins.quiet]\nhours = []\n\n[plugins]\nenabled = ['quiet']\n"
    positions = _located(text)
    assert positions[("plugins",)] == 4
    assert positions[("plugins", "quiet")] == 1


# -- line_for ----------------------------------------------------------------


def test_line_for_exact_and_prefix_fallback() -> None:
    positions = _located(EXAMPLE)
    assert line_for(positions, (*NUDGES, 0, "every")) == 14
    assert line_for(positions, [*NUDGES, 1, "days"]) == 19
    # Missing key in a table -> the table's header.
    assert line_for(positions, (*NUDGES, 1, "every")) == 16
    # Below a recorded leaf (e.g. pydantic drilling into a value) -> the leaf.
    assert line_for(positions, ("plugins", "quiet", "hours", 1, "end")) == 8
    assert line_for(positions, ("plugins", "screen_time", "daily", "sun")) == 22
    assert line_for(positions, ("core", "unknown")) == 2
    assert line_for(positions, ("nope", "core")) is None
    assert line_for(positions, ()) is None
    assert line_for({}, ("core",)) is None


# -- robustness --------------------------------------------------------------


@pytest.mark.parametrize("doc", [EXAMPLE, STRINGS, NESTED_AOT, KEYS_AND_ARRAYS])
def test_truncated_documents_degrade_to_fewer_entries(doc: str) -> None:
    full = _located(doc)
    for end in range(len(doc)):
        partial = locate_keys(doc[:end])
        assert partial.items() <= full.items(), doc[:end]


@pytest.mark.parametrize(
    "text",
    [
        "",
        "[",
        "[[",
        "]]",
        "a",
        "a =",
        'a = """',
        "a = '''x''",
        'a = "\\',
        'a = "\\uZZZZ"',
        'a = "\\U00110000"',
        "a = [1, 2",
        "a = {b = ",
        "a = 1 b = 2",
        "= 1",
        "a = [" * 5000,
        "a = " + "[" * 3000 + "]" * 3000,
        "a = " + "{b=" * 3000 + "1" + "}" * 3000,
    ],
)
def test_weird_input_never_raises(text: str) -> None:
    assert isinstance(locate_keys(text), dict)


def test_deep_nesting_records_outer_levels() -> None:
    text = "a = " + "[" * 200 + "]" * 200 + "\nb = 1\n"
    positions = locate_keys(text)
    assert positions[("a", 0)] == 1
    assert positions[("b",)] == 2


@given(st.text())
def test_arbitrary_text_never_raises(text: str) -> None:
    assert isinstance(locate_keys(text), dict)


# -- property test with a tiny TOML writer -----------------------------------

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _is_control(ch: str) -> bool:
    return ord(ch) < 0x20 or ord(ch) == 0x7F


def _escape_basic(text: str, keep_newlines: bool = False) -> str:
    out = []
    for ch in text:
        if ch in '"\\':
            out.append("\\" + ch)
        elif ch == "\n" and keep_newlines:
            out.append(ch)
        elif _is_control(ch) and ch != "\t":
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return "".join(out)


class _Writer:
    """Serialize nested dicts to TOML, recording where each path was written.

    Layout choices (header vs inline vs dotted tables, arrays of tables,
    string flavours, multi-line arrays, comments, spacing) are drawn from
    ``rnd`` so hypothesis explores them along with the data.
    """

    def __init__(self, rnd: random.Random) -> None:
        self.rnd = rnd
        self.chunks: list[str] = []
        self.line = 1
        self.expected: dict[KeyPath, int] = {}

    def text(self) -> str:
        return "".join(self.chunks)

    def write(self, chunk: str) -> None:
        self.chunks.append(chunk)
        self.line += chunk.count("\n")

    def space(self) -> str:
        return self.rnd.choice(["", " ", "  ", "\t"])

    def newline(self) -> None:
        if self.rnd.random() < 0.2:
            self.write(self.space() + "# comment = [x] \"\"\" '''")
        self.write("\n")
        if self.rnd.random() < 0.2:
            self.write("\n")

    def key(self, key: str) -> str:
        if _BARE.fullmatch(key) and self.rnd.random() < 0.8:
            return key
        if "'" not in key and not any(_is_control(c) for c in key) and self.rnd.random() < 0.5:
            return f"'{key}'"
        return f'"{_escape_basic(key)}"'

    def string(self, text: str) -> str:
        flavours = ["basic", "ml_basic"]
        controls = {c for c in text if _is_control(c)}
        if "'" not in text and controls <= {"\t"}:
            flavours.append("literal")
        if "'''" not in text and not text.endswith("'") and controls <= {"\t", "\n"}:
            flavours.append("ml_literal")
        flavour = self.rnd.choice(flavours)
        if flavour == "basic":
            return f'"{_escape_basic(text)}"'
        if flavour == "literal":
            return f"'{text}'"
        if flavour == "ml_basic":
            # The newline right after the opening delimiter is trimmed by TOML.
            return f'"""\n{self.multiline_basic(text)}"""'
        return f"'''\n{text}'''"

    def multiline_basic(self, text: str) -> str:
        """Escape for a multi-line basic string, leaving some quotes raw.

        Up to two raw quotes in a row are legal (also right before the closing
        delimiter), and mixing raw and escaped ones exercises the scanner.
        """
        out = []
        raw_quotes = 0
        for ch in text:
            if ch == '"' and raw_quotes < 2 and self.rnd.random() < 0.7:
                out.append(ch)
                raw_quotes += 1
                continue
            raw_quotes = 0
            out.append(_escape_basic(ch, keep_newlines=True))
        return "".join(out)

    def scalar(self, value: Any) -> str:
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, str):
            return self.string(value)
        if isinstance(value, float):
            return repr(value)
        if isinstance(value, dt.datetime):
            return value.isoformat(sep=self.rnd.choice(["T", " "]))
        if isinstance(value, dt.date | dt.time):
            return value.isoformat()
        return str(value)

    def value(self, path: KeyPath, value: Any) -> None:
        """Write a value inline (scalar, array or inline table)."""
        if isinstance(value, list):
            self.array(path, value)
        elif isinstance(value, dict):
            self.write("{" + self.space())
            for i, (key, child) in enumerate(value.items()):
                if i:
                    self.write("," + self.space())
                self.expected[(*path, key)] = self.line
                self.write(self.key(key) + self.space() + "=" + self.space())
                self.value((*path, key), child)
            self.write(self.space() + "}")
        else:
            self.write(self.scalar(value))

    def array(self, path: KeyPath, items: list[Any]) -> None:
        multiline = bool(items) and self.rnd.random() < 0.5
        self.write("[")
        for i, item in enumerate(items):
            if multiline:
                self.newline()
                self.write("  ")
            elif i:
                self.write(self.space())
            self.expected[(*path, i)] = self.line
            self.value((*path, i), item)
            if i < len(items) - 1 or (multiline and self.rnd.random() < 0.5):
                self.write(",")
        if multiline:
            self.newline()
        self.write("]")

    def key_value(self, path: KeyPath, keys: list[str], value: Any) -> None:
        self.write(self.space())
        line = self.line
        for end in range(1, len(keys) + 1):
            self.expected.setdefault((*path, *keys[:end]), line)
        dotted = (self.space() + "." + self.space()).join(self.key(k) for k in keys)
        self.write(dotted + self.space() + "=" + self.space())
        self.value((*path, *keys), value)
        self.newline()

    def table(self, path: KeyPath, names: tuple[str, ...], table: dict[str, Any]) -> None:
        """Write a table's body: plain keys first, then sub-tables with headers."""
        headed: list[tuple[str, Any]] = []
        for key, value in table.items():
            is_aot = bool(value) and isinstance(value, list)
            is_aot = is_aot and all(isinstance(v, dict) for v in value)
            choice = self.rnd.random()
            if isinstance(value, dict) and choice < 0.5:
                headed.append((key, value))
            elif (
                isinstance(value, dict)
                and value
                and choice < 0.75
                and not any(isinstance(v, dict) for v in value.values())
            ):
                for sub, child in value.items():
                    self.key_value(path, [key, sub], child)
            elif is_aot and choice < 0.6:
                headed.append((key, value))
            else:
                self.key_value(path, [key], value)
        for key, value in headed:
            header = ".".join(self.key(n) for n in (*names, key))
            sub_path = (*path, key)
            if isinstance(value, dict):
                self.newline()
                self.expected[sub_path] = self.line
                self.write(f"[{self.space()}{header}{self.space()}]")
                self.newline()
                self.table(sub_path, (*names, key), value)
            else:
                for i, element in enumerate(value):
                    self.newline()
                    self.expected.setdefault(sub_path, self.line)
                    self.expected[(*sub_path, i)] = self.line
                    self.write(f"[[{self.space()}{header}{self.space()}]]")
                    self.newline()
                    self.table((*sub_path, i), (*names, key), element)


# Single characters plus fragments that look like TOML syntax, so strings and
# keys regularly contain quote runs, escapes, fake headers and assignments.
_PIECES = st.sampled_from(
    [*"ab Z09_-.=#[]{},\"'\\\n\t\r\x00\x7féü💡", '"""', "'''", '\\"', "\n[t]\nk = 1\n"]
)
_text = st.lists(_PIECES, max_size=12).map("".join)
_keys = st.lists(_PIECES, max_size=4).map("".join)
_scalars = st.one_of(
    _text,
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.booleans(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.dates(),
    st.datetimes(),
    st.times(),
)
_values = st.recursive(
    _scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=3),
        st.lists(st.dictionaries(_keys, children, max_size=3), max_size=3),
        st.dictionaries(_keys, children, max_size=3),
    ),
    max_leaves=15,
)
_documents = st.dictionaries(_keys, _values, max_size=6)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_documents, st.randoms(use_true_random=False))
def test_generated_documents_locate_every_path(data: dict[str, Any], rnd: random.Random) -> None:
    writer = _Writer(rnd)
    writer.table((), (), data)
    text = writer.text()
    assert tomllib.loads(text) == data, text  # the test writer itself is sound

    positions = locate_keys(text)

    for key, value in data.items():
        if not isinstance(value, dict | list):
            assert positions[(key,)] == writer.expected[(key,)], text
    assert positions == writer.expected, text
    assert set(positions) == _paths(data)
