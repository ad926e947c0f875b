"""The fleet plan's preflight beyond :mod:`drplan.fleet_checks`: copy jobs at once and the monthly cost.

:func:`add_arguments` adds the flags to the fleet plan's parser, :func:`load` reads the inventory and
the prices before any stack is planned (bad input: one error naming the flag), and :func:`run` adds
the findings, the JSON blocks and the text sections once the stacks are planned.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from components import stagger
from drplan import copy_concurrency, cost, fleet_checks, storage
from drplan.fleet_checks import Finding, StackSummary

DEFAULT_INVENTORY = Path(__file__).resolve().parent.parent / "examples" / "inventory.yaml"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--inventory",
        type=Path,
        default=DEFAULT_INVENTORY,
        help="sizes and counts per resource type, taken for every account, for the copy jobs at once and "
        "the monthly cost (default: examples/inventory.yaml)",
    )
    parser.add_argument(
        cost.PRICE_FILE_FLAG,
        type=Path,
        metavar="FILE",
        help="prices in the shape of drplan/prices.json, each figure in place of the bundled one",
    )
    parser.add_argument(
        "--ram-share-quota",
        type=int,
        default=fleet_checks.RAM_SHARES_PER_ACCOUNT,
        help=f"RAM resource shares allowed per isolated account (default {fleet_checks.RAM_SHARES_PER_ACCOUNT})",
    )
    parser.add_argument(
        copy_concurrency.COPY_QUOTA_FLAG,
        type=int,
        default=copy_concurrency.COPY_JOBS_PER_ACCOUNT_REGION,
        help="concurrent copy jobs one account runs into one Region "
        f"(default {copy_concurrency.COPY_JOBS_PER_ACCOUNT_REGION})",
    )
    parser.add_argument(
        copy_concurrency.STAGGER_FLAG,
        type=int,
        metavar="MINUTES",
        help="also show the copy peaks with each account's copies moved later by a hash of its account "
        f"within this window ({copy_concurrency.STAGGER_STEP_MINUTES}-{stagger.MAX_WINDOW_MINUTES} minutes)",
    )


@dataclass(frozen=True)
class Inputs:
    inventory: storage.Inventory
    prices: cost.PriceTable


def problems(args: argparse.Namespace) -> list[str]:
    """Flag values out of range, each naming the flag, the value and what is allowed."""
    out = []
    for flag, value in (
        ("--ram-share-quota", args.ram_share_quota),
        (copy_concurrency.COPY_QUOTA_FLAG, args.copy_quota),
    ):
        if value < 1:
            out.append(f"{flag} {value}: must be a whole number of at least 1")
    window = args.stagger_window
    if (
        window is not None
        and not copy_concurrency.STAGGER_STEP_MINUTES <= window <= stagger.MAX_WINDOW_MINUTES
    ):
        out.append(
            f"{copy_concurrency.STAGGER_FLAG} {window}: must be {copy_concurrency.STAGGER_STEP_MINUTES}-"
            f"{stagger.MAX_WINDOW_MINUTES} minutes"
        )
    return out


def load(args: argparse.Namespace) -> Inputs:
    """Raises :class:`storage.InventoryError` or :class:`cost.PriceFileError` naming the file and key."""
    return Inputs(storage.load_inventory(args.inventory), cost.load_prices(args.price_file))


def run(
    summaries: list[StackSummary], args: argparse.Namespace, inputs: Inputs
) -> tuple[list[Finding], dict[str, Any], list[str]]:
    findings, concurrency, concurrency_lines = copy_concurrency.report(
        summaries, inputs.inventory, args.copy_quota, args.stagger_window
    )
    costs, cost_lines = cost.fleet_report(summaries, inputs.inventory, inputs.prices)
    return findings, {"copyConcurrency": concurrency, "cost": costs}, [*concurrency_lines, *cost_lines]
