"""A small TOML writer for ``nudged config show`` (the standard library only reads TOML)."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def _key(key: str) -> str:
    return key if _BARE.match(key) else json.dumps(key)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()
                                if v is not None) + " }"
    return json.dumps(str(value))


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def dumps(doc: Mapping[str, Any], prefix: str = "") -> str:
    """Scalars first, then sub-tables and arrays of tables; ``None`` values are omitted
    (TOML has no null: an omitted key means the default)."""
    out: list[str] = []
    for key, value in doc.items():
        if value is None or isinstance(value, Mapping) or _is_table_array(value):
            continue
        out.append(f"{_key(key)} = {_value(value)}")
    for key, value in doc.items():
        path = f"{prefix}.{_key(key)}" if prefix else _key(key)
        if isinstance(value, Mapping):
            body = dumps(value, path)
            out.append(f"\n[{path}]")
            if body.strip():
                out.append(body.rstrip("\n"))
        elif _is_table_array(value):
            for item in value:
                out.append(f"\n[[{path}]]")
                body = dumps(item, path)
                if body.strip():
                    out.append(body.rstrip("\n"))
    return "\n".join(out).lstrip("\n") + "\n"
