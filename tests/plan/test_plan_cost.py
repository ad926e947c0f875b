"""The monthly cost: the bundled price table, --price-file, the model by hand, and the plan's output."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from drplan import cli, cost
from drplan.matrix import AIR_GAPPED, CROSS_REGION, IN_REGION, LOCKED_VAULT, Stream, VaultUse
from drplan.storage import Inventory, TypeInventory

US1, US2 = "us-east-1", "us-east-2"
URL = "https://example.com/prices"


def _use(destination: str, per_day: int, days: int, cold_after: int | None = None) -> VaultUse:
    minutes = tuple(range(0, per_day * 60, 60))
    stream = Stream(destination, "v", "p", False, minutes, "cron(0 5 ? * * *)", days, cold_after)
    return VaultUse(destination, "v", (stream,))


def _table(prices: dict[str, Any]) -> cost.PriceTable:
    return cost.PriceTable(cost.parse_prices({"prices": prices}, "test"), ("test",))


def _fig(usd: float) -> dict[str, Any]:
    return {"usd": usd, "source": URL, "date": "2026-12-07"}


EBS = Inventory(
    types={"ebs": TypeInventory.model_validate({"count": 1, "totalGiB": 100, "dailyChangePercent": 10})}
)
REGIONS = cost.Regions(US1, US2)


def test_bundled_table_loads_and_every_figure_has_a_source_and_date() -> None:
    table = cost.load_prices()
    figures = [f for tiers in table.prices.values() for by_key in tiers.values() for f in by_key.values()]
    assert figures
    assert any(f.sourced for f in figures)
    for f in figures:
        assert (f.usd is None) == (f.source is None) == (f.date is None)
        if f.source:
            assert f.source.startswith("https://")


def test_warm_cold_split_and_transfer_by_hand() -> None:
    table = _table(
        {
            US1: {"warm": {"default": _fig(0.05)}, "interRegionTransfer": {"default": _fig(0.02)}},
            US2: {"warm": {"default": _fig(0.06)}, "cold": {"default": _fig(0.01)}},
        }
    )
    # 1 point a day for 10 days, cold after 4: 6 of 10 retained points in cold storage.
    uses = [("ebs", _use(IN_REGION, 1, 10)), ("ebs", _use(CROSS_REGION, 1, 10, cold_after=4))]
    result = cost.stack_cost(uses, EBS, REGIONS, table)
    gib = 100 + 9 * 10  # the storage model: first point full, then 10 GiB a day
    assert result.usd[cost.LINE_IN_REGION] == pytest.approx(gib * 0.05)
    assert result.usd[cost.LINE_CROSS_REGION] == pytest.approx(gib * 0.4 * 0.06 + gib * 0.6 * 0.01)
    assert result.usd[cost.LINE_TRANSFER] == pytest.approx(10 * 30 * 0.02)
    assert not result.unsourced


def test_a_price_without_source_is_unsourced_not_zero_and_named() -> None:
    table = _table({US1: {"warm": {"default": _fig(0.05)}, "airGapped": {"default": {"usd": None}}}})
    uses = [
        ("ebs", _use(IN_REGION, 1, 10)),
        ("ebs", _use(AIR_GAPPED, 1, 7)),
        ("ebs", _use(LOCKED_VAULT, 1, 7)),
    ]
    result = cost.stack_cost(uses, EBS, REGIONS, table)
    assert result.unsourced == {(US1, "airGapped", "ebs")}
    assert result.unsourced_lines == {cost.LINE_ISOLATED}
    # The locked vault's warm storage is priced; the air-gapped GiB is left out, never guessed.
    assert result.usd[cost.LINE_ISOLATED] == pytest.approx((100 + 6 * 10) * 0.05)
    assert "airGapped in us-east-1 (ebs)" in cost.unsourced_note(result)
    assert cost.usd(10.0, [cost.LINE_ISOLATED], result.unsourced_lines) == "$10+?"
    assert cost.usd(10.0, [cost.LINE_IN_REGION], result.unsourced_lines) == "$10"


def test_a_type_price_wins_over_the_default() -> None:
    table = _table({US1: {"warm": {"default": _fig(0.05), "ebs": _fig(0.5)}}})
    assert cost.stack_cost([("ebs", _use(IN_REGION, 1, 1))], EBS, REGIONS, table).usd[
        cost.LINE_IN_REGION
    ] == pytest.approx(50)


def test_price_file_overrides_only_the_figures_it_names(tmp_path: Path) -> None:
    override = tmp_path / "p.json"
    override.write_text(json.dumps({"prices": {US2: {"warm": {"default": _fig(0.07)}}}}))
    table = cost.load_prices(override)
    assert table.figure(US2, "warm", "ebs").usd == 0.07
    bundled = cost.load_prices()
    assert table.figure(US1, "warm", "ebs") == bundled.figure(US1, "warm", "ebs")
    assert table.files == ("drplan/prices.json", str(override))


@pytest.mark.parametrize(
    ("prices", "named"),
    [
        ({US1: {"warm": {"lambda": _fig(1)}}}, "prices.us-east-1.warm.lambda: unknown type"),
        ({US1: {"hot": {"default": _fig(1)}}}, "prices.us-east-1.hot: unknown tier"),
        ({"us-moon-1": {"warm": {"default": _fig(1)}}}, "prices.us-moon-1: not an AWS region"),
        ({US1: {"warm": {"default": {"usd": 0.05}}}}, "prices.us-east-1.warm.default: a price of 0.05 needs"),
        ({US1: {"warm": {"default": {**_fig(1), "per": "GB"}}}}, "warm.default.per: unknown key"),
        ({US1: {"warm": {"default": {**_fig(1), "usd": -1}}}}, "warm.default.usd: -1 is not a price"),
        ({US1: {"warm": {"default": {**_fig(1), "source": "http://x"}}}}, "must be an https:// URL"),
    ],
)
def test_bad_price_file_names_the_key(tmp_path: Path, prices: dict[str, Any], named: str) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"prices": prices}))
    with pytest.raises(cost.PriceFileError) as caught:
        cost.load_prices(path)
    assert named in str(caught.value)
    assert str(path) in str(caught.value)


def test_missing_price_file_names_the_flag(tmp_path: Path) -> None:
    with pytest.raises(cost.PriceFileError, match=r"--price-file .*: file not found"):
        cost.load_prices(tmp_path / "none.json")


def test_the_plan_shows_the_monthly_cost(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    override = tmp_path / "p.json"
    override.write_text(
        json.dumps({"prices": {r: {t: {"default": _fig(0.01)} for t in cost.TIERS} for r in (US1, US2)}})
    )
    assert cli.main(["prod", "--no-policy", "--json", "--price-file", str(override)]) == 0
    document = json.loads(capsys.readouterr().out)["cost"]
    assert set(document["layouts"]) == {"split", "partitioned"}
    assert set(document["byAirGappedDays"]) == {"7", "35"}
    for block in [*document["layouts"].values(), *document["byAirGappedDays"].values()]:
        assert block["complete"]
        assert block["total"] > 0
    # 35 days in the air-gapped vault cost more than 7.
    assert document["byAirGappedDays"]["35"]["total"] > document["byAirGappedDays"]["7"]["total"]
    assert cli.main(["prod", "--no-policy"]) == 0
    text = capsys.readouterr().out
    assert "MONTHLY COST in USD" in text
    assert "+?" in text
    assert "no sourced price" in text


def test_the_plan_refuses_a_bad_price_file(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "p.json"
    path.write_text(json.dumps({"prices": {US1: {"warm": {"lambda": _fig(1)}}}}))
    assert cli.main(["prod", "--no-policy", "--price-file", str(path)]) == 2
    assert "warm.lambda: unknown type" in capsys.readouterr().err
