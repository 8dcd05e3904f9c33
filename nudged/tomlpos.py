"""Find the source line of each key in a TOML document.

``tomllib`` parses configuration into plain dicts and throws away where each
value came from.  When validation later rejects a value, the user should be
told *where* it is (``config.toml:14: plugins.custom.nudges[0].every: ...``),
so this module re-scans the text and maps every key path to a 1-based line.

It is deliberately not a second TOML parser: it assumes the text was already
accepted by ``tomllib`` (which is the authority on validity) and only tracks
enough syntax to know where keys, tables and array elements start and to not
mistake string or array contents for keys.  It never raises: anything it does
not understand ends the scan and whatever was located so far is returned,
because a missing line number is a cosmetic loss while an exception here would
hide the real configuration error from the user.
"""

from __future__ import annotations

import bisect
import contextlib
from collections.abc import Sequence

__all__ = ["KeyPath", "line_for", "locate_keys"]

KeyPath = tuple[str | int, ...]
"""A path into the parsed document: table/key names, and indices into arrays."""

_BARE_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_SPACE = frozenset(" \t")
_BLANK = frozenset(" \t\r\n")
# Characters that end an unquoted value (number, bool, date/time).  Spaces are
# not among them because a datetime may be written "1979-05-27 07:32:00".
_SCALAR_END = frozenset(",]}#\r\n")
_ESCAPES = {
    "b": "\b",
    "t": "\t",
    "n": "\n",
    "f": "\f",
    "r": "\r",
    "e": "\x1b",  # TOML 1.1; harmless to accept for 1.0 documents.
    '"': '"',
    "\\": "\\",
}
# Beyond this nesting depth values are skipped without recording their insides.
# It keeps the recursive descent far from Python's recursion limit on
# pathological input; real configurations never nest this deep.
_MAX_DEPTH = 48


class _Stop(Exception):
    """The scanner met text it does not understand; stop and keep what we have."""


def locate_keys(text: str) -> dict[KeyPath, int]:
    """Map key paths in a ``tomllib``-accepted document to 1-based line numbers.

    Recorded paths:

    * ``[a.b]`` headers: ``("a", "b")`` -> header line.
    * ``[[a.b]]`` headers: the n-th occurrence (0-based, counted per parent
      element) gives ``("a", "b", n)`` -> header line, and ``("a", "b")`` ->
      line of the first occurrence.  Headers and keys below it use the index,
      so a nested ``[[a.b.c]]`` maps to ``("a", "b", n, "c", m)``.
    * ``key = value`` (bare, quoted or dotted): the full path -> the line the
      key starts on.  Intermediate tables created by dotted keys or headers
      (``("a",)`` for ``[a.b]``) get the line where they are first mentioned,
      unless they have their own header, which wins.
    * Inline tables: their keys, at the line each key starts on.
    * Arrays: ``path + (i,)`` -> line where element ``i`` starts, recursively.

    Text inside strings (including multi-line ones) and comments never
    produces keys.  On input this scanner cannot follow, the entries found
    before the confusing spot are returned; it does not raise.
    """
    scanner = _Scanner(text)
    # Deliberately broad: this runs while *reporting* a config error, and a
    # bug or surprise here must cost only line numbers, never replace the
    # user's actual error with a traceback.
    with contextlib.suppress(Exception):
        scanner.document()
    return scanner.result()


def line_for(positions: dict[KeyPath, int], path: Sequence[str | int]) -> int | None:
    """Return the line of the longest prefix of ``path`` found in ``positions``.

    Validation errors often point below what the locator records (a value
    deep inside an array, a key that is missing from a table); falling back to
    the nearest enclosing key still sends the user to the right place.
    Returns ``None`` if not even the first path element is known.
    """
    key = tuple(path)
    for end in range(len(key), 0, -1):
        line = positions.get(key[:end])
        if line is not None:
            return line
    return None


class _Scanner:
    """Single-pass, position-tracking scanner over one TOML document.

    Works on string offsets and converts to line numbers on demand, so no
    code path has to remember to count newlines (multi-line strings, CRLF
    and line-ending backslashes are then all handled for free).
    """

    def __init__(self, text: str) -> None:
        self.src = text
        self.pos = 0
        newlines: list[int] = []
        at = text.find("\n")
        while at != -1:
            newlines.append(at)
            at = text.find("\n", at + 1)
        self.newlines = newlines
        # Explicit positions (the key/header that defines the path) and
        # implicit ones (first mention as a prefix); explicit wins on merge.
        self.found: dict[KeyPath, int] = {}
        self.implicit: dict[KeyPath, int] = {}
        # How many [[...]] elements each concrete array-of-tables path has.
        self.aot_counts: dict[KeyPath, int] = {}
        self.table: KeyPath = ()

    def result(self) -> dict[KeyPath, int]:
        merged = dict(self.implicit)
        merged.update(self.found)
        return merged

    # -- low-level helpers -------------------------------------------------

    def line(self, pos: int) -> int:
        """1-based line of offset ``pos`` (number of newlines before it, +1)."""
        return bisect.bisect_left(self.newlines, pos) + 1

    def peek(self) -> str:
        """Current character, or ``""`` at end of input (never IndexError)."""
        return self.src[self.pos] if self.pos < len(self.src) else ""

    def skip_space(self) -> None:
        while self.peek() in _SPACE:
            self.pos += 1

    def skip_comment(self) -> None:
        if self.peek() == "#":
            end = self.src.find("\n", self.pos)
            self.pos = len(self.src) if end == -1 else end

    def skip_blank(self) -> None:
        """Skip whitespace, newlines and comments (between statements/elements)."""
        while True:
            c = self.peek()
            if c in _BLANK:
                self.pos += 1
            elif c == "#":
                self.skip_comment()
            else:
                return

    def expect(self, token: str) -> None:
        if not self.src.startswith(token, self.pos):
            raise _Stop
        self.pos += len(token)

    # -- statements --------------------------------------------------------

    def document(self) -> None:
        if self.src.startswith("\ufeff"):
            self.pos = 1
        while True:
            self.skip_blank()
            if self.pos >= len(self.src):
                return
            if self.peek() == "[":
                self.header()
            else:
                self.key_value(self.table, 0)
            self.end_of_line()

    def end_of_line(self) -> None:
        """Only a comment may follow a statement; anything else means we lost sync."""
        self.skip_space()
        self.skip_comment()
        if self.peek() not in ("", "\r", "\n"):
            raise _Stop

    def header(self) -> None:
        start = self.pos
        is_array = self.src.startswith("[[", self.pos)
        self.pos += 2 if is_array else 1
        self.skip_space()
        parts = self.key()
        self.skip_space()
        self.expect("]]" if is_array else "]")
        line = self.line(start)

        concrete: list[str | int] = []
        for i, part in enumerate(parts):
            concrete.append(part)
            path = tuple(concrete)
            if i < len(parts) - 1:
                self.implicit.setdefault(path, line)
                # A header below an array of tables extends its last element.
                count = self.aot_counts.get(path)
                if count:
                    concrete.append(count - 1)
            elif is_array:
                index = self.aot_counts.get(path, 0)
                self.aot_counts[path] = index + 1
                self.found.setdefault(path, line)
                concrete.append(index)
                self.found[tuple(concrete)] = line
            else:
                self.found[path] = line
        self.table = tuple(concrete)

    def key_value(self, base: KeyPath, depth: int) -> None:
        start = self.pos
        parts = self.key()
        self.skip_space()
        self.expect("=")
        self.skip_space()
        line = self.line(start)
        path = base + parts
        for end in range(len(base) + 1, len(path)):
            self.implicit.setdefault(path[:end], line)
        self.found[path] = line
        self.value(path, depth)

    def key(self) -> tuple[str, ...]:
        """Parse a possibly dotted, possibly quoted key into its parts."""
        parts: list[str] = []
        while True:
            self.skip_space()
            c = self.peek()
            if c == '"':
                parts.append(self.basic_string())
            elif c == "'":
                parts.append(self.literal_string())
            elif c in _BARE_KEY_CHARS:
                start = self.pos
                while self.peek() in _BARE_KEY_CHARS:
                    self.pos += 1
                parts.append(self.src[start : self.pos])
            else:
                raise _Stop
            self.skip_space()
            if self.peek() != ".":
                return tuple(parts)
            self.pos += 1

    # -- values ------------------------------------------------------------

    def value(self, path: KeyPath, depth: int) -> None:
        c = self.peek()
        if c == '"':
            if self.src.startswith('"""', self.pos):
                self.multiline_string('"')
            else:
                self.basic_string()
        elif c == "'":
            if self.src.startswith("'''", self.pos):
                self.multiline_string("'")
            else:
                self.literal_string()
        elif c in ("[", "{"):
            if depth >= _MAX_DEPTH:
                self.skip_nested()
            elif c == "[":
                self.array(path, depth + 1)
            else:
                self.inline_table(path, depth + 1)
        else:
            self.scalar()

    def scalar(self) -> None:
        start = self.pos
        while self.pos < len(self.src) and self.src[self.pos] not in _SCALAR_END:
            self.pos += 1
        if not self.src[start : self.pos].strip():
            raise _Stop

    def array(self, path: KeyPath, depth: int) -> None:
        self.pos += 1  # "["
        index = 0
        while True:
            self.skip_blank()
            c = self.peek()
            if c == "]":
                self.pos += 1
                return
            if c == "":
                raise _Stop  # truncated: do not record an element that is not there
            element = (*path, index)
            self.found[element] = self.line(self.pos)
            self.value(element, depth)
            index += 1
            self.skip_blank()
            c = self.peek()
            if c == ",":
                self.pos += 1
            elif c == "]":
                self.pos += 1
                return
            else:
                raise _Stop

    def inline_table(self, path: KeyPath, depth: int) -> None:
        # Newlines and comments are tolerated between entries although TOML 1.0
        # forbids them: TOML 1.1 allows them, and the line math is offset-based.
        self.pos += 1  # "{"
        while True:
            self.skip_blank()
            if self.peek() == "}":
                self.pos += 1
                return
            self.key_value(path, depth)
            self.skip_blank()
            c = self.peek()
            if c == ",":
                self.pos += 1
            elif c == "}":
                self.pos += 1
                return
            else:
                raise _Stop

    def skip_nested(self) -> None:
        """Skip an array/inline table without recursion or recording.

        Used past ``_MAX_DEPTH`` so absurdly nested input costs entries
        instead of a RecursionError.
        """
        level = 0
        while True:
            c = self.peek()
            if c == "":
                raise _Stop
            if c == '"' or c == "'":
                if self.src.startswith(c * 3, self.pos):
                    self.multiline_string(c)
                elif c == '"':
                    self.basic_string()
                else:
                    self.literal_string()
                continue
            if c == "#":
                self.skip_comment()
                continue
            self.pos += 1
            if c in "[{":
                level += 1
            elif c in "]}":
                level -= 1
                if level == 0:
                    return

    # -- strings -----------------------------------------------------------

    def basic_string(self) -> str:
        """Consume a single-line ``"..."`` string and return its decoded text.

        Decoding matters for keys: ``"a\\u0062"`` names the key ``ab``.
        """
        self.pos += 1  # opening quote
        out: list[str] = []
        src = self.src
        while True:
            c = self.peek()
            if c in ("", "\n"):
                raise _Stop
            self.pos += 1
            if c == '"':
                return "".join(out)
            if c != "\\":
                out.append(c)
                continue
            esc = self.peek()
            self.pos += 1
            if esc in _ESCAPES:
                out.append(_ESCAPES[esc])
            elif esc in ("u", "U", "x"):
                width = {"u": 4, "U": 8, "x": 2}[esc]
                digits = src[self.pos : self.pos + width]
                self.pos += width
                try:
                    out.append(chr(int(digits, 16)))
                except ValueError:
                    raise _Stop from None
            else:
                raise _Stop

    def literal_string(self) -> str:
        """Consume a single-line ``'...'`` string (no escapes) and return it."""
        end = self.src.find("'", self.pos + 1)
        newline = self.src.find("\n", self.pos + 1)
        if end == -1 or (newline != -1 and newline < end):
            raise _Stop
        text = self.src[self.pos + 1 : end]
        self.pos = end + 1
        return text

    def multiline_string(self, quote: str) -> None:
        """Consume a multi-line basic or literal string (``quote`` is its quote char).

        The closing delimiter may be preceded by up to two content quotes
        (three quotes, ``a``, five quotes is the string ``a`` plus two quotes),
        so a run of up to five quotes is consumed as a whole.  Only basic
        strings have escapes; an escaped character is skipped so that a
        backslash-quote followed by two quotes does not end the string.
        """
        self.pos += 3
        src = self.src
        while True:
            c = self.peek()
            if c == "":
                raise _Stop
            if c == "\\" and quote == '"':
                self.pos += 2
            elif c == quote and src.startswith(quote * 3, self.pos):
                run = 0
                while run < 5 and self.peek() == quote:
                    self.pos += 1
                    run += 1
                return
            else:
                self.pos += 1
