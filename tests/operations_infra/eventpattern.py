"""A small EventBridge event-pattern matcher, enough for the patterns this project writes.

Semantics (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-event-patterns.html): every
field named in the pattern must match; values are lists of alternatives (OR); a list in the event
matches when any element matches; nested objects recurse; ``$or`` takes a list of sub-patterns;
``prefix``, ``anything-but`` and ``exists`` are the content filters supported here. Anything else
raises, so a pattern using an unsupported filter cannot pass silently.
"""

from __future__ import annotations

from typing import Any

_MISSING = object()


def _scalar_matches(matcher: Any, value: Any) -> bool:
    if isinstance(matcher, dict):
        if set(matcher) == {"prefix"}:
            return isinstance(value, str) and value.startswith(matcher["prefix"])
        if set(matcher) == {"anything-but"}:
            excluded = matcher["anything-but"]
            excluded = excluded if isinstance(excluded, list) else [excluded]
            return value is not _MISSING and value not in excluded
        raise NotImplementedError(f"content filter {matcher} is not supported by this matcher")
    return value is not _MISSING and type(value) is type(matcher) and value == matcher


def _field_matches(alternatives: Any, value: Any) -> bool:
    if isinstance(alternatives, dict):
        # A nested object pattern.
        return isinstance(value, dict) and matches(alternatives, value)
    if not isinstance(alternatives, list) or not alternatives:
        raise ValueError(f"pattern values must be non-empty lists or objects, got {alternatives!r}")
    for matcher in alternatives:
        if isinstance(matcher, dict) and set(matcher) == {"exists"}:
            if (value is not _MISSING) == matcher["exists"]:
                return True
            continue
        candidates = value if isinstance(value, list) else [value]
        if any(_scalar_matches(matcher, candidate) for candidate in candidates):
            return True
    return False


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    for key, expected in pattern.items():
        if key == "$or":
            if not any(matches(sub, event) for sub in expected):
                return False
            continue
        if not _field_matches(expected, event.get(key, _MISSING)):
            return False
    return True


def resolve(path: str, event: dict[str, Any]) -> Any:
    """The value at an input-transformer path such as ``$.detail.state``; KeyError when absent."""
    if not path.startswith("$."):
        raise ValueError(f"input paths start with '$.', got {path!r}")
    value: Any = event
    for part in path[2:].split("."):
        if not isinstance(value, dict) or part not in value:
            raise KeyError(f"{path}: no {part!r}")
        value = value[part]
    return value
