"""Project-level configuration (``config:`` in ``Pulumi.yaml``) merged into a stack's config as the Pulumi CLI
merges it, so the offline plan runs the program with the config ``pulumi preview``/``up`` would hand it.

What the CLI does (docs/project-config.md has the sources, in pulumi/pulumi ``sdk/go/common/workspace``):

- A key without a namespace belongs to the project (``prefix`` is ``aws-dr-backup:prefix``); a key with
  another namespace (``aws:region``) is a provider's.
- Shorthand: a string, integer, boolean or list is rewritten to ``{default: <it>}`` for a project key and
  to ``{value: <it>}`` for another namespace. A mapping is a declaration: ``type``, ``items``,
  ``description``, ``secret``, ``default``, ``value`` and nothing else, so an object value needs the long
  form (``retention: {default: {...}}``).
- Declarations are checked: not both ``default`` and ``value``; another namespace's key has a ``value``
  and neither ``type`` nor ``default``; an ``array`` type has ``items``; a typed default has its type.
- Merge, per declared key in order: when the stack has the key, the stack's value stays, whole (an object
  in the stack file replaces the project's object; nothing is merged inside it). Otherwise the
  project's ``value`` or ``default`` is set. A project key with neither, missing from the stack, is
  reported missing. The key's name is a property path: ``a.b`` looks up and sets ``b`` inside the
  stack's ``a`` (creating it), with the value converted as ``pulumi config set --path`` converts it
  (``"true"``/``"false"`` to booleans, digit strings without a leading zero to integers).
- Then every stack value of a typed key is checked against the type.

Values from a Pulumi ESC environment the stack imports are merged by the CLI before this step; they cannot
be resolved offline (the plan says so) and are not part of the result.
"""

from __future__ import annotations

import copy
import json
import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

PROJECT_FILE = "Pulumi.yaml"
TYPES = ("string", "integer", "boolean", "array")
_ATTRIBUTES = ("type", "items", "description", "secret", "default", "value")
_MISSING: Any = object()
# Property paths the offline merge follows: dotted names, no brackets or indices.
_PATH = re.compile(r"^[^.\[\]\"]+(\.[^.\[\]\"]+)*$")


class ProjectConfigError(ValueError):
    """Pulumi.yaml cannot be used, or a stack is invalid only once it is merged; the message names the file
    and the key."""


@dataclass(frozen=True)
class Declaration:
    key: str
    """As written in Pulumi.yaml."""
    namespace: str
    path: tuple[str, ...]
    type: str | None = None
    items: Any = None
    default: Any = _MISSING
    value: Any = _MISSING
    secret: bool = False

    @property
    def full_key(self) -> str:
        return f"{self.namespace}:{'.'.join(self.path)}"

    @property
    def given(self) -> Any:
        """The value the project gives (``default`` or ``value``), or ``_MISSING``."""
        return self.default if self.default is not _MISSING else self.value


@dataclass(frozen=True)
class Project:
    name: str
    file: str
    declarations: tuple[Declaration, ...]

    def shared(self, namespace: str) -> dict[str, Any]:
        """The values the project gives for ``namespace``, nested by property path (keys without it)."""
        nested: dict[str, Any] = {}
        for d in self.declarations:
            if d.namespace == namespace and d.given is not _MISSING:
                cursor = nested
                for part in d.path[:-1]:
                    cursor = cursor.setdefault(part, {})
                cursor[d.path[-1]] = copy.deepcopy(d.given)
        return nested


def _items_valid(items: Any, where: str, file: str) -> None:
    if not isinstance(items, Mapping) or items.get("type") not in TYPES:
        raise ProjectConfigError(
            f"{file}: config.{where}.items must be a mapping with a type ({', '.join(TYPES)})"
        )
    if items["type"] == "array":
        _items_valid(items.get("items"), f"{where}.items", file)


def _matches(type_name: str, items: Any, value: Any) -> bool:
    """``ValidateConfigValue`` of the CLI."""
    if type_name == "string":
        return isinstance(value, str)
    if type_name == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        if isinstance(value, float):
            return math.isfinite(value) and value == math.trunc(value)
        return isinstance(value, str) and re.fullmatch(r"[+-]?\d+", value) is not None
    if type_name == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if not isinstance(value, list) or not isinstance(items, Mapping):
        return False
    return all(_matches(items["type"], items.get("items"), item) for item in value)


def _type_name(type_name: str, items: Any) -> str:
    if isinstance(items, Mapping):
        return f"array<{_type_name(items['type'], items.get('items'))}>"
    return type_name


def _declaration(project: str, key: str, raw: Any, file: str) -> Declaration:
    if not isinstance(key, str) or not key:
        raise ProjectConfigError(f"{file}: config key {key!r} must be a non-empty string")
    namespace, name = key.split(":", 1) if ":" in key else (project, key)
    if not _PATH.match(name):
        raise ProjectConfigError(
            f"{file}: config.{key}: the offline plan follows dotted property paths only (a.b.c), not "
            "brackets or list indices; declare the whole value under its first segment"
        )
    own = namespace == project
    # Shorthand, as RewriteShorthandConfigValues: scalars and lists only (YAML floats and nulls are
    # neither, and the project schema refuses them).
    if isinstance(raw, str | int | list):
        raw = {"default": raw} if own else {"value": raw}
    if not isinstance(raw, Mapping):
        raise ProjectConfigError(
            f"{file}: config.{key} = {json.dumps(raw)}: must be a string, integer, boolean or list, or a "
            f"mapping of {', '.join(_ATTRIBUTES)} (an object value goes under 'default:' or 'value:')"
        )
    unknown = sorted(set(raw) - set(_ATTRIBUTES))
    if unknown:
        raise ProjectConfigError(
            f"{file}: config.{key} has the attribute '{unknown[0]}'; allowed: {', '.join(_ATTRIBUTES)} (an "
            "object value goes under 'default:' or 'value:')"
        )
    declaration = Declaration(
        key=key,
        namespace=namespace,
        path=tuple(name.split(".")),
        type=raw.get("type"),
        items=raw.get("items"),
        default=raw.get("default", _MISSING),
        value=raw.get("value", _MISSING),
        secret=bool(raw.get("secret", False)),
    )
    # Project.Validate and the project schema.
    if declaration.default is not _MISSING and declaration.value is not _MISSING:
        raise ProjectConfigError(f"{file}: config.{key} cannot have both a 'default' and a 'value'")
    if declaration.type is not None and declaration.type not in TYPES:
        raise ProjectConfigError(
            f"{file}: config.{key}.type = {declaration.type!r}: one of {', '.join(TYPES)}"
        )
    if own:
        if declaration.type == "array":
            _items_valid(declaration.items, key, file)
        typed_default = declaration.type is not None and declaration.default is not _MISSING
        if typed_default and not _matches(str(declaration.type), declaration.items, declaration.default):
            raise ProjectConfigError(
                f"{file}: config.{key}: the default is not of the declared type "
                f"'{_type_name(str(declaration.type), declaration.items)}'"
            )
    else:
        if declaration.type is not None or declaration.default is not _MISSING:
            raise ProjectConfigError(
                f"{file}: config.{key} is not namespaced by the project ({project}): it takes only a "
                "'value', no 'type' or 'default'"
            )
        if declaration.value is _MISSING:
            raise ProjectConfigError(
                f"{file}: config.{key} is namespaced by '{namespace}' and needs a 'value'"
            )
    return declaration


def parse_project(document: Any, file: str) -> Project:
    """The project's config declarations, checked as the CLI checks Pulumi.yaml."""
    if not isinstance(document, Mapping):
        raise ProjectConfigError(f"{file}: must be a mapping with name, runtime and (optional) config")
    name = document.get("name")
    if not isinstance(name, str) or not name:
        raise ProjectConfigError(f"{file}: the project needs a non-empty string 'name'")
    config = document.get("config")
    if config is None or isinstance(config, str):  # a string is the retired stackConfigDir spelling
        return Project(name, file, ())
    if not isinstance(config, Mapping):
        raise ProjectConfigError(f"{file}: 'config' must be a mapping of keys to values or declarations")
    declarations = tuple(_declaration(name, key, config[key], file) for key in sorted(config, key=str))
    return Project(name, file, declarations)


def _lookup(values: Mapping[str, Any], d: Declaration) -> Any:
    value: Any = values.get(f"{d.namespace}:{d.path[0]}", _MISSING)
    for part in d.path[1:]:
        if not isinstance(value, Mapping) or part not in value:
            return _MISSING
        value = value[part]
    return value


def _path_value(value: Any) -> Any:
    """``adjustObjectValue``: what a value set at a property path becomes inside the object."""
    text = value if isinstance(value, str) else json.dumps(value)
    if text in ("true", "false"):
        return text == "true"
    if len(text) > 1 and text.startswith("0"):
        return text
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    return text


def _set(values: dict[str, Any], d: Declaration, file: str) -> None:
    top = f"{d.namespace}:{d.path[0]}"
    given = copy.deepcopy(d.given)
    if len(d.path) == 1:
        values[top] = given
        return
    if isinstance(given, Mapping | list):
        raise ProjectConfigError(
            f"{file}: config.{d.key}: an object or list cannot be set at a property path; declare it under "
            f"'{d.path[0]}'"
        )
    current = values.get(top)
    root: dict[str, Any] = copy.deepcopy(dict(current)) if isinstance(current, Mapping) else {}
    cursor = root
    for part in d.path[1:-1]:
        child = cursor.setdefault(part, {})
        if not isinstance(child, dict):
            raise ProjectConfigError(f"{file}: config.{d.key}: a map was expected for key '{part}'")
        cursor = child
    cursor[d.path[-1]] = _path_value(given)
    values[top] = root


def _config_value(value: Any) -> Any:
    """What the CLI's type check sees of a stack value: scalars as their text, objects decoded."""
    if isinstance(value, Mapping | list):
        return json.loads(json.dumps(value, default=str))
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def merge(project: Project, stack_values: Mapping[str, Any], stack: str, stack_file: str) -> dict[str, Any]:
    """The stack's config with the project's config merged in as the CLI merges it (the stack wins)."""
    values = dict(stack_values)
    missing = []
    for d in project.declarations:
        if _lookup(values, d) is not _MISSING:
            continue
        if d.given is not _MISSING:
            _set(values, d, project.file)
        elif d.namespace == project.name:
            missing.append(d.key)
    if missing:
        keys = ", ".join(f"'{k}'" for k in missing)
        raise ProjectConfigError(
            f"{stack_file}: stack '{stack}' is missing configuration value{'s' if len(missing) > 1 else ''} "
            f"{keys}: {project.file} declares {'them' if len(missing) > 1 else 'it'} without a default; "
            f"set {'them' if len(missing) > 1 else 'it'} in {stack_file}"
        )
    for d in project.declarations:
        stack_value = _lookup(values, d)
        if stack_value is _MISSING:
            continue
        if d.secret and not (isinstance(stack_value, Mapping) and set(stack_value) == {"secure"}):
            raise ProjectConfigError(
                f"{stack_file}: configuration key '{d.key}' must be encrypted ({project.file} declares it "
                "secret): set it with pulumi config set --secret"
            )
        typed = d.type is not None and d.namespace == project.name
        if typed and not _matches(str(d.type), d.items, _config_value(stack_value)):
            raise ProjectConfigError(
                f"{stack_file}: configuration key '{d.key}' = {json.dumps(stack_value, default=str)} must "
                f"be of type '{_type_name(str(d.type), d.items)}' ({project.file} declares it)"
            )
    return values


_LINE_KEY = re.compile(r"^  [\w.-]+:([\w-]+)")


def explain(message: str, stack_file: str, project_file: str, shared: frozenset[str]) -> str:
    """A config error of a merged stack, with the stack file named and each line whose top-level key the
    project supplied (``shared``: un-namespaced keys) marked, so the user knows which file to edit."""
    lines = message.splitlines() or [message]
    out = [f"{stack_file}: {lines[0]}"]
    for line in lines[1:]:
        match = _LINE_KEY.match(line)
        if match and match.group(1) in shared:
            line += f" [from {project_file}; set {match.group(1)} in {stack_file} to override it]"
        out.append(line)
    if shared:
        out.append(f"  (merged with the shared settings of {project_file}: {', '.join(sorted(shared))})")
    return "\n".join(out)
