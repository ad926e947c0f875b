"""Reads the stack's config from the Pulumi engine once, for `config.parse`.

The engine hands it over already merged: the stack file's config with the project-level config of
`Pulumi.yaml` (and any imported ESC environment), the stack's values winning. The offline plan merges the
files the same way itself (`dr_model/project_config.py`, docs/project-config.md).
"""

from __future__ import annotations

import json
from typing import Any

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from components import config


def _decode(value: Any) -> Any:
    # The engine hands structured (object/list) config values to the program as JSON text.
    if isinstance(value, str) and value[:1] in ("{", "["):
        try:
            return json.loads(value)
        except json.JSONDecodeError:
            return value
    return value


def engine_values(project: str = config.PROJECT) -> dict[str, Any]:
    """The project's config as the engine hands it over, namespace dropped, objects decoded."""
    # The language host hands config over either in-process or (older hosts) as PULUMI_CONFIG; read
    # every key of the namespace, not only known ones, so a misspelt key is reported, not ignored.
    engine_config = {**get_config_env(), **CONFIG.get()}
    return {key: _decode(value) for key, value in config.from_namespaced(engine_config, project).items()}


def load() -> config.StackConfig:
    return config.parse(engine_values(), pulumi.get_stack())
