"""The copy-job preflight: bursts per destination, the per-account quota both ways, shards, staggering,
the summary over many stacks, and the fleet's monthly cost."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from components import stagger
from drplan import copy_concurrency, cost, fleet_checks
from drplan import fleet as fleet_plan
from drplan.fleet_checks import StackSummary
from drplan.matrix import AIR_GAPPED, CROSS_REGION, IN_REGION, Stream, VaultUse
from drplan.storage import Inventory
from tests.fleet.stacks import write_stack

ISOLATED, SHARD = "222222222222", "444444444444"
SEVEN, FIVE = 7 * 60, 5 * 60


def _use(destination: str, minute: int) -> VaultUse:
    stream = Stream(destination, "v", "p", False, (minute,), "cron", 7)
    return VaultUse(destination, "v", (stream,))


def summary(stack: str, workload: str, isolated: str = ISOLATED, **changes: Any) -> StackSummary:
    uses = (
        ("ebs", _use(IN_REGION, FIVE)),
        ("ebs", _use(CROSS_REGION, FIVE)),
        ("ebs", _use(AIR_GAPPED, SEVEN)),
    )
    fields: dict[str, Any] = {
        "environment": "production",
        "workload_account": workload,
        "isolated_account": isolated,
        "dr_region": "us-east-2",
        "settings": {"regions.primary": "us-east-1"},
        "vault_uses": uses,
        **changes,
    }
    return StackSummary(stack, f"Pulumi.{stack}.yaml", 0, "ok", **fields)


def inventory(count: int) -> Inventory:
    return Inventory.model_validate(
        {"types": {"ebs": {"count": count, "totalGiB": 100, "dailyChangePercent": 1}}}
    )


def fleet(n: int, isolated: str = ISOLATED, start: int = 0) -> list[StackSummary]:
    return [
        summary(f"w{i:04d}", f"{100_000_000_000 + i * 7919:012d}", isolated) for i in range(start, start + n)
    ]


def test_bursts_go_to_the_dr_region_and_the_isolated_account_not_in_region() -> None:
    bursts = copy_concurrency.bursts(summary("a", "111111111111"), inventory(3))
    assert [(b.minute, b.account, b.region, b.jobs) for b in bursts] == [
        (FIVE, "111111111111", "us-east-2", 3),
        (SEVEN, ISOLATED, "us-east-1", 3),
    ]


def test_peaks_per_destination_and_shards_apart() -> None:
    stacks = [*fleet(3), *fleet(2, SHARD, start=3)]
    peaks = {
        (p.account, p.region): p
        for p in copy_concurrency.peaks(copy_concurrency.stack_bursts(stacks, inventory(10)))
    }
    assert (peaks[(ISOLATED, "us-east-1")].jobs, peaks[(ISOLATED, "us-east-1")].minute) == (30, SEVEN)
    assert peaks[(SHARD, "us-east-1")].jobs == 20
    assert len(peaks[(ISOLATED, "us-east-1")].stacks) == 3


def test_a_stack_under_80_percent_of_the_quota_is_not_reported() -> None:
    findings, _, _ = copy_concurrency.report(fleet(3), inventory(79), 100, None)
    assert findings == []


def test_80_percent_and_above_the_quota_are_noted_separately() -> None:
    near, _, _ = copy_concurrency.report(fleet(2), inventory(80), 100, None)
    assert [(f.level, len(f.stacks)) for f in near] == [(fleet_checks.NOTE, 2)]
    assert "at 80% or more of the quota of 100" in near[0].message
    over, _, _ = copy_concurrency.report(fleet(2), inventory(101), 100, None)
    assert "above the quota of 100" in over[0].message
    # A raised quota (--copy-quota) lets the same fleet through.
    raised, _, _ = copy_concurrency.report(fleet(2), inventory(101), 200, None)
    assert raised == []


def test_a_finding_over_many_stacks_is_a_summary_with_every_name_in_its_stacks() -> None:
    stacks = [*fleet(995), *fleet(5, SHARD, start=995)]
    findings, _, _ = copy_concurrency.report(stacks, inventory(150), 100, None)
    (found,) = findings
    assert len(found.stacks) == 1000
    assert f"by isolated account: {ISOLATED} 995, {SHARD} 5" in found.message
    assert "w0000, w0001, w0002, w0003, w0004 and 995 more" in found.message
    assert "--stagger-window" in found.message
    assert "--copy-quota" in found.message
    assert len(found.message) < 600


def test_staggering_lowers_the_destination_peak_and_is_deterministic() -> None:
    stacks = fleet(200)
    _, document, lines = copy_concurrency.report(stacks, inventory(10), 100, 120)
    [before] = [p for p in document["peaks"] if p["account"] == ISOLATED]
    [after] = [p for p in document["staggeredPeaks"] if p["account"] == ISOLATED]
    assert before["jobs"] == 2000
    assert after["jobs"] < before["jobs"] / 5
    assert document["staggerOffsets"]["w0000"] == stagger.offset(stacks[0].workload_account, 120)
    assert copy_concurrency.report(stacks, inventory(10), 100, 120)[1] == document
    assert any("staggered over 120 min" in line for line in lines)
    _, unstaggered, _ = copy_concurrency.report(stacks, inventory(10), 100, None)
    assert unstaggered["staggeredPeaks"] is None


def test_the_fleet_cost_adds_up_its_accounts() -> None:
    url = "https://example.com/p"
    prices = cost.PriceTable(
        cost.parse_prices(
            {
                "prices": {
                    r: {
                        t: {"default": {"usd": 0.01, "source": url, "date": "2026-12-07"}} for t in cost.TIERS
                    }
                    for r in ("us-east-1", "us-east-2")
                }
            },
            "test",
        ),
        ("test",),
    )
    stacks = fleet(3)
    document, lines = cost.fleet_report(stacks, inventory(1), prices)
    per_stack = [s["total"] for s in document["stacks"].values()]
    assert len(per_stack) == 3
    assert document["fleet"]["total"] == round(sum(per_stack), 2)
    assert document["fleet"]["complete"] is True
    assert any(line.strip().startswith("fleet") and "3 accounts" in line for line in lines)
    unpriced, _ = cost.fleet_report(stacks, inventory(1), cost.PriceTable({}, ("none",)))
    assert unpriced["fleet"]["complete"] is False
    assert unpriced["fleet"]["total"] == 0


def test_ram_shares_at_80_percent_of_a_configured_quota_are_noted_and_above_it_conflict() -> None:
    def share(stack: str) -> fleet_checks.IsolatedName:
        return fleet_checks.IsolatedName(ISOLATED, "us-east-1", fleet_checks.SHARE_KIND, f"{stack}-vault")

    stacks = [replace_names(s, (share(s.stack),)) for s in fleet(4)]
    levels = {
        quota: [
            f.level
            for f in fleet_checks.check(stacks, ram_share_quota=quota)
            if f.check == fleet_checks.RAM_SHARE_QUOTA
        ]
        for quota in (3, 5, 6)
    }
    assert levels == {3: [fleet_checks.CONFLICT], 5: [fleet_checks.NOTE], 6: []}


def replace_names(s: StackSummary, names: tuple[fleet_checks.IsolatedName, ...]) -> StackSummary:
    return dataclasses.replace(s, isolated_names=names)


def test_the_fleet_plan_refuses_bad_preflight_flags_before_planning(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_stack(tmp_path, "alpha", "555555555555")
    bad = tmp_path / "prices.json"
    bad.write_text(json.dumps({"prices": {"us-east-1": {"warm": {"lambda": {"usd": None}}}}}))
    base = ["--all", "--project-dir", str(tmp_path), "--no-policy", "--workers", "1"]
    assert fleet_plan.main([*base, "--price-file", str(bad)]) == 2
    assert "prices.us-east-1.warm.lambda: unknown type" in capsys.readouterr().err
    for flag, value, expected in (
        ("--stagger-window", "3", "--stagger-window 3: must be 5-720 minutes"),
        ("--copy-quota", "0", "--copy-quota 0: must be a whole number of at least 1"),
        ("--ram-share-quota", "0", "--ram-share-quota 0: must be a whole number of at least 1"),
    ):
        with pytest.raises(SystemExit) as exited:
            fleet_plan.main([*base, flag, value])
        assert exited.value.code == 2
        assert expected in capsys.readouterr().err


def test_the_fleet_plan_shows_copy_peaks_and_cost(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_stack(tmp_path, "alpha", "555555555555")
    write_stack(tmp_path, "beta", "666666666666")
    code = fleet_plan.main(
        [
            "--all",
            "--project-dir",
            str(tmp_path),
            "--no-policy",
            "--workers",
            "1",
            "--json",
            "--stagger-window",
            "60",
        ]
    )
    document = json.loads(capsys.readouterr().out)
    assert code == 0
    assert {p["account"] for p in document["copyConcurrency"]["peaks"]} >= {ISOLATED}
    assert set(document["copyConcurrency"]["staggerOffsets"]) == {"alpha", "beta"}
    assert set(document["cost"]["stacks"]) == {"alpha", "beta"}
    assert document["cost"]["fleet"]["perMonth"]["in-region"] > 0


def test_the_stagger_preview_leaves_stacks_already_staggered_where_they_are() -> None:
    stacks = fleet(2)
    items = copy_concurrency.stack_bursts(stacks, inventory(1))
    moved = copy_concurrency.staggered(items, 120)
    kept = copy_concurrency.staggered(items, 120, frozenset({"w0000"}))
    assert [b for b in kept if b.stack == "w0000"] == [b for b in items if b.stack == "w0000"]
    assert [b for b in kept if b.stack == "w0001"] == [b for b in moved if b.stack == "w0001"]
    assert [b.minute for b in moved if b.stack == "w0000"] != [b.minute for b in items if b.stack == "w0000"]
