"""Reads the organisation stack's config from the Pulumi engine once, for :func:`org.org_config.parse`."""

from __future__ import annotations

import pulumi

from components.source import engine_values
from org import org_config as config


def load() -> config.OrgConfig:
    return config.parse(engine_values(config.PROJECT), pulumi.get_stack())
