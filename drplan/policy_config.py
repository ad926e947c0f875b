"""Policy pack configuration in the format of ``pulumi preview --policy-pack-config FILE`` and
``pulumi policy enable --config FILE``, checked and reconciled the way the Pulumi CLI does it.

The file is one JSON object keyed by policy name. A value is either an enforcement level (``"advisory"``,
``"mandatory"``, ``"remediate"``, ``"disabled"``) or an object holding an optional ``enforcementLevel``
and the policy's own settings. The key ``all`` sets the enforcement level of every policy; a policy's
own entry wins over it. An empty file means no configuration.

Before the engine calls ``Configure`` the CLI reconciles: each policy starts from its default level and
its schema's defaults (from ``GetAnalyzerInfo``), ``all`` then sets the level, the policy's entry then
sets its level and settings, and the result is validated against the policy's JSON schema; an invalid
configuration stops the preview. This module does the same, and is stricter in two places where the CLI
is silent: a name that is not a policy of the pack, and a setting the policy's schema does not declare
(the CLI would pass both on, and the pack would ignore them, e.g. a misspelt ``kubernetesClusters``).
"""

from __future__ import annotations

import difflib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from drplan.policy_client import PolicyInfo

LEVELS = ("advisory", "mandatory", "remediate", "disabled")
ALL = "all"
ENFORCEMENT_LEVEL = "enforcementLevel"

PolicyConfig = dict[str, Any]
"""The file's content: policy name (or ``all``) -> level string or settings object."""


class PolicyConfigError(ValueError):
    """The configuration cannot be used; the message names the policy, the setting and what is allowed."""


@dataclass(frozen=True)
class Reconciled:
    """What ``Configure`` receives for one policy."""

    enforcement_level: str
    properties: dict[str, Any]


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def _level(where: str, value: Any) -> str:
    if isinstance(value, str) and value in LEVELS:
        return value
    raise PolicyConfigError(f"{where} = {_json(value)}: an enforcement level is one of {', '.join(LEVELS)}")


def parse(text: str) -> PolicyConfig:
    """The file's content, with its shape checked as the CLI parses it (levels valid, values strings or
    objects); names and settings are checked against the pack by :func:`reconcile`."""
    if not text.strip():
        return {}
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise PolicyConfigError(
            f"not valid JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    if not isinstance(document, dict):
        raise PolicyConfigError(
            f"must be a JSON object keyed by policy name (or '{ALL}'), not {type(document).__name__} "
            f"{_json(document)[:60]}"
        )
    for name, value in document.items():
        if isinstance(value, str):
            _level(name, value)
        elif isinstance(value, dict):
            if ENFORCEMENT_LEVEL in value:
                _level(f"{name}.{ENFORCEMENT_LEVEL}", value[ENFORCEMENT_LEVEL])
        else:
            raise PolicyConfigError(
                f"{name} = {_json(value)}: must be an enforcement level ({', '.join(LEVELS)}) or an object "
                f"of the policy's settings"
            )
    return document


def load(path: Path) -> PolicyConfig:
    """Read and :func:`parse` a configuration file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise PolicyConfigError("file not found") from None
    except UnicodeDecodeError:
        raise PolicyConfigError("not UTF-8 text") from None
    except OSError as exc:
        raise PolicyConfigError(f"cannot be read: {exc.strerror or exc}") from None
    return parse(text)


def _unknown_name(name: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else " (policies/README.md lists them)"
    return f"{name}: not a policy of this pack{hint}"


def _integral(value: Any) -> Any:
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {k: _integral(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_integral(v) for v in value]
    return value


def _schema_problems(
    policy: PolicyInfo, given: Mapping[str, Any], properties: Mapping[str, Any]
) -> list[str]:
    """Settings the policy does not declare, then JSON-schema errors of the reconciled settings."""
    declared = policy.config_schema
    problems = [
        f"{policy.name}.{key} = {_json(given[key])}: not a setting of this policy; its settings are "
        f"{', '.join(sorted(declared)) or 'none'}"
        for key in given
        if key not in declared
    ]
    # The schema went through a protobuf Struct, which has only floats: show 60, not 60.0.
    schema = {"type": "object", "properties": _integral(declared), "required": list(policy.required_config)}
    import jsonschema  # here, not at the top: only given settings need it, and it costs a tenth of a plan

    validator = jsonschema.Draft7Validator(schema)
    for error in sorted(validator.iter_errors(dict(properties)), key=lambda e: list(e.absolute_path)):
        path = ".".join(str(p) for p in error.absolute_path)
        where = f"{policy.name}.{path}" if path else policy.name
        value = f" = {_json(error.instance)}" if path else ""
        problems.append(f"{where}{value}: {error.message}")
    return problems


def reconcile(policies: Iterable[PolicyInfo], config: Mapping[str, Any]) -> dict[str, Reconciled]:
    """Every policy's enforcement level and settings as the CLI sends them to ``Configure``.

    Raises :class:`PolicyConfigError` listing every problem (one per line).
    """
    by_name = {p.name: p for p in policies}
    problems = [_unknown_name(name, by_name) for name in config if name != ALL and name not in by_name]
    everything = config.get(ALL)
    all_level: str | None = None
    if isinstance(everything, Mapping):
        extra = sorted(set(everything) - {ENFORCEMENT_LEVEL})
        if extra:
            problems.append(f"{ALL}: takes only {ENFORCEMENT_LEVEL}, not {', '.join(extra)}")
        everything = everything.get(ENFORCEMENT_LEVEL)
    if everything is not None:
        all_level = _level(ALL, everything)

    result: dict[str, Reconciled] = {}
    for policy in by_name.values():
        entry = config.get(policy.name, {})
        given = dict(entry) if isinstance(entry, Mapping) else {}
        level = given.pop(ENFORCEMENT_LEVEL, None) if isinstance(entry, Mapping) else entry
        if level is None:
            level = all_level or policy.enforcement_level
        try:
            level = _level(f"{policy.name}.{ENFORCEMENT_LEVEL}", level)
        except PolicyConfigError as exc:
            problems.append(str(exc))
            continue
        defaults = {k: s["default"] for k, s in policy.config_schema.items() if "default" in s}
        properties = {**defaults, **given}
        if given or policy.required_config:
            # Only settings someone gave can break the schema: the pack's own defaults satisfy it.
            problems.extend(_schema_problems(policy, given, properties))
        result[policy.name] = Reconciled(level, properties)
    if problems:
        raise PolicyConfigError("\n".join(problems))
    return result
