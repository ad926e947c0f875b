"""Reads the organisation stack's config from the Pulumi engine once, for :func:`org.config.parse`."""

from __future__ import annotations

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from components.source import _decode
from org import config


def load() -> config.OrgConfig:
    # Every key of the namespace, not only known ones, so a misspelt key is reported, not ignored.
    engine_config = {**get_config_env(), **CONFIG.get()}
    raw = {key: _decode(value) for key, value in config.from_namespaced(engine_config).items()}
    return config.parse(raw, pulumi.get_stack())
