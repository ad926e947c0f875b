"""What ``plan`` reads from the stack's own file when no outputs file is at hand (``--stack``).

In an outage the saved ``pulumi stack output --json`` may be what is missing, and Pulumi state may sit in
the failed region; the stack file is in this repository. ``Pulumi.<stack>.yaml`` is merged with
``Pulumi.yaml`` as the Pulumi CLI merges them (``dr_model/project_config.py``, the one implementation of
that merge), and only what the restore needs is read, checked here without the program's config models
(the runtime imports no pydantic):

- ``prefix``: the vaults are found by name (``source_vaults.discover``);
- ``accounts.workload``, ``airGappedVault.name``: which shared air-gapped vault is the stack's;
- ``regions.primary`` / ``regions.dr``: where to look (``--region`` overrides);
- ``schedules.crossRegion`` / ``schedules.crossAccount`` and ``windows.completionMinutes``: how old a copy
  may be before the plan calls it stale (``freshness.py``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from dr_model import cron, project_config
from dr_runtime.operations.watchdog_settings import DEFAULT_COMPLETION_WINDOW_MINUTES
from dr_runtime.restore.failures import InputError
from dr_runtime.yaml_documents import YamlFileError, load_yaml

_PREFIX = re.compile(r"^[a-z][a-z0-9-]{1,19}$")
_ACCOUNT = re.compile(r"^\d{12}$")


@dataclass(frozen=True)
class StackFacts:
    file: str
    prefix: str
    workload_account: str | None
    primary_region: str | None
    dr_region: str | None
    cross_region_schedule: str | None
    cross_account_schedule: str | None
    completion_window: timedelta
    air_gapped_vault_name: str | None
    """``airGappedVault.name`` when the stack sets one (a kept old name)."""


def stack_path(value: str) -> Path:
    """``--stack prod`` -> ``Pulumi.prod.yaml`` here; a path to a stack file is taken as it is."""
    return Path(value) if value.endswith((".yaml", ".yml")) or "/" in value else Path(f"Pulumi.{value}.yaml")


def _read(path: Path, flag: str) -> dict[str, Any]:
    if not path.is_file():
        raise InputError(f"{flag}: no stack file {path} (run from the repository, or give the file's path)")
    try:
        document = load_yaml(path)
        config = document.get("config") if isinstance(document, dict) else None
        if not isinstance(config, dict):
            raise InputError(f"{flag}: {path} has no 'config' mapping (not a Pulumi stack file)")
        project_file = path.parent / project_config.PROJECT_FILE
        if not project_file.is_file():
            return dict(config)
        project = project_config.parse_project(load_yaml(project_file), str(project_file))
        merged = project_config.merge(project, config, path.stem.removeprefix("Pulumi."), str(path))
    except (YamlFileError, project_config.ProjectConfigError) as error:
        raise InputError(f"{flag}: {error}") from None
    prefix = f"{project.name}:"
    return {k.removeprefix(prefix): v for k, v in merged.items() if k.startswith(prefix)}


def _section(values: Mapping[str, Any], key: str, where: str) -> Mapping[str, Any]:
    found = values.get(key, {})
    if not isinstance(found, Mapping):
        raise InputError(f"{where}: {key} = {found!r}: expected a mapping")
    return found


def _text(section: Mapping[str, Any], key: str, where: str) -> str | None:
    found = section.get(key)
    if found is not None and not isinstance(found, str):
        raise InputError(f"{where}: {key} = {found!r}: expected a string")
    return found


def _schedule(section: Mapping[str, Any], key: str, where: str) -> str | None:
    expression = _text(section, key, f"{where} schedules")
    if expression is not None:
        try:
            cron.parse_backup_cron(expression)
        except cron.ScheduleError as error:
            raise InputError(f"{where}: schedules.{key} = {expression!r}: {error}") from None
    return expression


def load(value: str) -> StackFacts:
    path = stack_path(value)
    flag = f"--stack {value}"
    values = _read(path, flag)
    where = f"{flag} ({path})"
    prefix = values.get("prefix")
    if not isinstance(prefix, str) or not _PREFIX.match(prefix):
        raise InputError(
            f"{where}: prefix = {prefix!r}: expected the stack's prefix (a lower-case letter, then letters, "
            "digits or '-', 2-20 characters)"
        )
    accounts = _section(values, "accounts", where)
    workload = accounts.get("workload")
    if workload is not None and not (isinstance(workload, str) and _ACCOUNT.match(workload)):
        raise InputError(f"{where}: accounts.workload = {workload!r}: expected a 12-digit account ID")
    regions = _section(values, "regions", where)
    schedules = _section(values, "schedules", where)
    windows = _section(values, "windows", where)
    completion = windows.get("completionMinutes", DEFAULT_COMPLETION_WINDOW_MINUTES)
    if not isinstance(completion, int) or isinstance(completion, bool) or completion < 1:
        raise InputError(
            f"{where}: windows.completionMinutes = {completion!r}: expected a whole number of minutes"
        )
    return StackFacts(
        file=str(path),
        prefix=prefix,
        workload_account=workload,
        primary_region=_text(regions, "primary", f"{where} regions"),
        dr_region=_text(regions, "dr", f"{where} regions"),
        cross_region_schedule=_schedule(schedules, "crossRegion", where),
        cross_account_schedule=_schedule(schedules, "crossAccount", where),
        completion_window=timedelta(minutes=completion),
        air_gapped_vault_name=_text(
            _section(values, "airGappedVault", where), "name", f"{where} airGappedVault"
        ),
    )
