"""The words of a contact prompt, kept apart so they can be read (and tested) in one place.

People who use nudged are often in a low stretch where reaching out feels heavy. The
prompt therefore names one person and one small, concrete step, says that a small
step counts, and never mentions how long it has been or how "late" anything is: a
count of days reads as a reproach. Others who are also due are only listed, in one
short line, so the person sees the whole picture without being asked about each.
"""

from __future__ import annotations

from collections.abc import Sequence

#: ``how`` values with their own words; anything else the person wrote is quoted back.
KNOWN_WAYS = ("call", "message", "visit")

#: How many other names the digest line spells out before "and N others".
DIGEST_NAMES = 3


def _way(how: str) -> str:
    """The known way ``how`` means ("Call" -> "call"), or "" for the person's own words."""
    normal = how.strip().casefold()
    return normal if normal in KNOWN_WAYS else ""


def title(name: str, how: str) -> str:
    """One short question naming the person and the way, e.g. "A call with Mum?"."""
    way = _way(how)
    if way == "call":
        return f"A call with {name}?"
    if way == "message":
        return f"A message to {name}?"
    if way == "visit":
        return f"A visit with {name}?"
    return f"Get in touch with {name}?"


def _sentence(text: str) -> str:
    """``text`` as a sentence: a full stop added unless it already ends like one."""
    text = text.strip()
    return text if text.endswith((".", "?", "!", "…")) else text + "."


def step(how: str) -> str:
    """The one small step, said so that a small version of it clearly counts."""
    way = _way(how)
    if way == "call":
        return "Even five minutes of hearing each other counts."
    if way == "message":
        return "A line or two is plenty."
    if way == "visit":
        return "Settling on a day together is a fine start."
    return _sentence(f"Your way: {how.strip()}")


def digest(others: Sequence[str]) -> str:
    """One line naming others who are also due, or "" when there are none."""
    if not others:
        return ""
    names = list(others)
    if len(names) > DIGEST_NAMES:
        rest = len(names) - DIGEST_NAMES
        listed = ", ".join(names[:DIGEST_NAMES])
        return f"Also on your list: {listed} and {rest} {'other' if rest == 1 else 'others'}."
    if len(names) == 1:
        return f"Also on your list: {names[0]}."
    return f"Also on your list: {', '.join(names[:-1])} and {names[-1]}."


def body(how: str, note: str | None, others: Sequence[str] = ()) -> str:
    """The step, the person's own note if any, then the digest line."""
    parts = [step(how)]
    if note and note.strip():
        parts.append(_sentence(f"Your note: {note.strip()}"))
    line = digest(others)
    if line:
        parts.append(line)
    return " ".join(parts)
