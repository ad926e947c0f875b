"""Plain-data access to resource properties as the engine sends them, with preview unknowns made explicit.

CrossGuard hands policies proxies that raise on unknown values. The pack unwraps them once into plain
dicts/lists in which an unknown is still its engine sentinel string, and reads them through
:func:`get`, which raises :class:`UnknownValue` (carrying the property path) instead of returning a
sentinel. The rule runner turns that exception into a "cannot verify" finding, so an unknown never
crashes a rule and never passes silently.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from pulumi_policy.deserialize import serialize_properties

# The engine's unknown sentinels (pulumi/sdk/go/common/resource/plugin/rpc.go); the engine itself
# sends the string one for every type, the SDK knows all seven.
UNKNOWN_SENTINELS = frozenset(
    {
        "04da6b54-80e4-46f7-96ec-b56ff0331ba9",  # string
        "1c4a061d-8072-4f0a-a4cb-0ff528b18fe7",  # boolean
        "3eeb2bf0-c639-47a8-9e75-3b44932eb421",  # number
        "6a19a0b0-7e62-4c92-b797-7f8e31da9cc2",  # array
        "030794c1-ac77-496b-92df-f27374a8bd58",  # asset
        "e48ece36-62e2-4504-bad9-02848725956a",  # archive
        "dd056dcd-154b-4c76-9bd3-c8f88648b5ff",  # object
    }
)
_SECRET_SIG_KEY = "4dabf18193072939515e22adb298388d"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"

Path = tuple[str | int, ...]


class UnknownValue(Exception):  # noqa: N818 - it is a signal, not an error condition
    """A property the rule needs is not known until apply."""

    def __init__(self, path: Path) -> None:
        super().__init__(path_text(path))
        self.path = path


def path_text(path: Path) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


def is_unknown(value: Any) -> bool:
    return isinstance(value, str) and value in UNKNOWN_SENTINELS


def contains_unknown(value: Any) -> bool:
    if is_unknown(value):
        return True
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(contains_unknown(v) for v in value)
    return False


def unwrap(props: Any) -> dict[str, Any]:
    """Turn CrossGuard's proxies into plain data, keeping unknown sentinels and unwrapping secrets."""
    plain = serialize_properties(props)
    return _strip_secrets(plain)  # type: ignore[no-any-return]


def plain(engine_json: Mapping[str, Any]) -> dict[str, Any]:
    """The engine's JSON of the properties (as ``MessageToDict`` gives it), with secrets unwrapped."""
    return _strip_secrets(engine_json)  # type: ignore[no-any-return]


def _strip_secrets(value: Any) -> Any:
    if isinstance(value, Mapping):
        if value.get(_SECRET_SIG_KEY) == _SECRET_SIG:
            return _strip_secrets(value.get("value"))
        return {k: _strip_secrets(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_strip_secrets(v) for v in value]
    return value


def get(props: Any, *path: str | int) -> Any:
    """Value at ``path``; ``None`` when absent; raises :class:`UnknownValue` when it (or a parent) is unknown."""
    current = props
    walked: list[str | int] = []
    for part in path:
        if is_unknown(current):
            raise UnknownValue(tuple(walked))
        walked.append(part)
        if isinstance(part, int):
            if not isinstance(current, list | tuple) or part >= len(current):
                return None
            current = current[part]
        else:
            if not isinstance(current, Mapping):
                return None
            current = current.get(part)
    if is_unknown(current):
        raise UnknownValue(tuple(walked))
    return current


def get_list(props: Any, *path: str | int) -> list[Any]:
    value = get(props, *path)
    if value is None:
        return []
    if isinstance(value, list | tuple):
        return list(value)
    return [value]


def as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def as_string_list(value: Any) -> list[str]:
    """A JSON-encoded list (how pulumi-aws sends some provider inputs), a list, or a single string."""
    if value is None:
        return []
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                decoded = json.loads(text)
            except ValueError:
                return [value]
            return [str(v) for v in decoded] if isinstance(decoded, list) else [value]
        return [value]
    if isinstance(value, Sequence):
        return [str(v) for v in value]
    return [str(value)]
