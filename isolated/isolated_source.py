"""Reads the isolated stack's config from the Pulumi engine once, for :func:`isolated.isolated_config.parse`."""

from __future__ import annotations

import pulumi

from components.source import engine_values
from isolated import isolated_config as config


def load() -> config.IsolatedConfig:
    return config.parse(engine_values(config.PROJECT), pulumi.get_stack())
