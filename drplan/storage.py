"""Storage estimate of both plan layouts for an inventory the user gives (``examples/inventory.yaml``).

Each layout's matrix comes from its own program run (the stack's config with ``layout`` switched; the
other layout's run registers only the protection part of the program), so the figures follow what each
layout registers. The model, per type and per vault a resource's points
land in, is documented in the example inventory; it compares layouts, it does not predict a bill.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from components.config import PROJECT, Layout, StackConfig
from dr_model import catalog
from dr_runtime.yaml_documents import YamlFileError, load_yaml
from drplan.graph import StackGraph
from drplan.matrix import AIR_GAPPED, DESTINATIONS, LOCKED_VAULT, Matrix, VaultUse
from drplan.program import register_stack

LAYOUTS = ("split", "partitioned")
LAYOUT_KEY = f"{PROJECT}:layout"
RETENTION_KEY = f"{PROJECT}:retention"
AIR_GAPPED_OPTIONS = (7, 35)
"""Air-gapped copy retentions the estimate compares: the seed design's 7 days and AWS Audit Manager's default
minimum of 35 (threat model G3); both fit the default air-gapped vault range [7, 35]."""


def layouts_of(raw: dict[str, Any]) -> tuple[str, str]:
    """(the layout the stack file asks for, the other one)."""
    default: Layout = StackConfig.model_fields["layout"].default
    current = str(raw.get(LAYOUT_KEY, default.value))
    return current, next(layout for layout in LAYOUTS if layout != current)


PROTECTION_PROGRAM = Path(__file__).resolve().parent / "protection_program.py"


def register_with_layout(stack: str, raw: dict[str, Any], layout: str, program: Path | None) -> StackGraph:
    """The stack's config with ``layout``, run through the protection part of the program.

    ``program`` (benchmarks' synthetic stacks) replaces it with a whole program of their own.
    """
    return register_stack(stack, config={**raw, LAYOUT_KEY: layout}, program=program or PROTECTION_PROGRAM)


class InventoryError(ValueError):
    """The inventory file is missing or malformed; the message names the entry."""


class TypeInventory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    count: int = Field(ge=0)
    total_gib: float = Field(alias="totalGiB", ge=0)
    daily_change_percent: float = Field(alias="dailyChangePercent", ge=0, le=100)
    incremental: bool = True


class Inventory(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    types: dict[str, TypeInventory]


def load_inventory(path: Path) -> Inventory:
    if not path.is_file():
        raise InventoryError(f"inventory file {path} not found")
    try:
        inventory = Inventory.model_validate(load_yaml(path))
    except YamlFileError as exc:
        raise InventoryError(f"inventory {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise InventoryError(f"inventory {path}: {where}: {first['msg']}") from None
    unknown = sorted(set(inventory.types) - set(catalog.TYPE_KEYS))
    if unknown:
        raise InventoryError(
            f"inventory {path}: types.{unknown[0]} is not a resource type; allowed: {', '.join(catalog.TYPE_KEYS)}"
        )
    return inventory


def vault_gib(use: VaultUse, size: TypeInventory) -> float:
    """GiB one type's data occupies in one vault (see examples/inventory.yaml for the model)."""
    total = size.total_gib
    change = size.daily_change_percent / 100
    points, per_day = use.retained_points, use.points_per_day
    # Each scheduled point holds the change since the one before it: a day's change spread over the day.
    increment = total * change / per_day if size.incremental and per_day else total
    continuous = use.continuous_days
    if continuous is not None:
        return total * (1 + change * continuous) + points * increment
    if points == 0:
        return 0.0
    if not size.incremental:
        return total * points
    return total + (points - 1) * increment


@dataclass(frozen=True)
class TypeEstimate:
    type_key: str
    count: int
    total_gib: float
    by_layout: dict[str, dict[str, float] | None]
    """Layout -> destination -> GiB; ``None`` when the layout's stack does not protect the type."""

    def total(self, layout: str) -> float:
        return sum((self.by_layout.get(layout) or {}).values())


@dataclass(frozen=True)
class Estimate:
    current: str
    types: tuple[TypeEstimate, ...]

    def total(self, layout: str) -> float:
        return sum(t.total(layout) for t in self.types)

    @property
    def difference(self) -> float:
        """``split`` minus ``partitioned``, GiB."""
        return self.total("split") - self.total("partitioned")

    def to_json(self) -> dict[str, Any]:
        return {
            "currentLayout": self.current,
            "unit": "GiB",
            "types": [
                {
                    "type": t.type_key,
                    "count": t.count,
                    "totalGiB": t.total_gib,
                    "layouts": {
                        layout: (
                            None
                            if t.by_layout.get(layout) is None
                            else {**(t.by_layout[layout] or {}), "total": round(t.total(layout), 1)}
                        )
                        for layout in LAYOUTS
                    },
                }
                for t in self.types
            ],
            "totals": {layout: round(self.total(layout), 1) for layout in LAYOUTS},
            "splitMinusPartitioned": round(self.difference, 1),
        }


def estimate(matrices: dict[str, Matrix], inventory: Inventory, current: str) -> Estimate:
    """``matrices`` maps each layout to the matrix of the stack built with it."""
    types = []
    for key in catalog.TYPE_KEYS:
        size = inventory.types.get(key)
        if size is None:
            continue
        by_layout: dict[str, dict[str, float] | None] = {}
        for layout, matrix in matrices.items():
            rows = [r for r in matrix.rows if r.type_key == key]
            if not rows:
                by_layout[layout] = None
                continue
            # Synthetic stacks repeat a type: each copy protects the inventory, so they add up.
            gib = dict.fromkeys(DESTINATIONS, 0.0)
            for row in rows:
                for destination, use in row.base.uses.items():
                    gib[destination] += vault_gib(use, size)
            by_layout[layout] = {d: round(v, 1) for d, v in gib.items() if v}
        types.append(TypeEstimate(key, size.count, size.total_gib, by_layout))
    return Estimate(current, tuple(types))


def with_air_gapped_days(raw: dict[str, Any], days: int) -> dict[str, Any]:
    """The stack's config with ``retention.airGappedCopy.deleteAfterDays`` set to ``days`` (the rest kept)."""
    retention = dict(raw.get(RETENTION_KEY) or {})
    retention["airGappedCopy"] = {"deleteAfterDays": days}
    return {**raw, RETENTION_KEY: retention}


def isolated_gib(matrix: Matrix, inventory: Inventory) -> float:
    """GiB the stack keeps in the isolated account (air-gapped and locked vaults) for ``inventory``."""
    layout_estimate = estimate({"current": matrix}, inventory, "current")
    return sum(
        (t.by_layout.get("current") or {}).get(d, 0.0)
        for t in layout_estimate.types
        for d in (AIR_GAPPED, LOCKED_VAULT)
    )
