"""The fleet page's heat-maps per copy tier, rendered by headless Chromium: one table per tier, accounts
by resource type, each figure marked verified or self-reported."""

from __future__ import annotations

import pytest

from dr_runtime.fleet_report import formats as render
from dr_runtime.fleet_report import merge
from dr_runtime.fleet_report.report_sources import evidence_from_folder, from_folder
from dr_runtime.verifier.settings import DEFAULT_EVIDENCE_PREFIX
from tests.fleet_report.browser import Rendered
from tests.fleet_report.browser import render as browse
from tests.fleet_report.evidence import FULL_COPIES, Copy, evidence, write_evidence
from tests.fleet_report.reports import DRIFT, FULL, NOW, STALE, write_fleet

TIERS = ("in-region", "cross-region", "air-gapped")


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    root = tmp_path_factory.mktemp("tiers")
    # FULL's EBS volume stopped copying into the isolated account; DRIFT and STALE have no evidence.
    dropped = [Copy(c.rtype, c.name, air_gapped=80) if c.rtype == "EBS" else c for c in FULL_COPIES]
    found = evidence_from_folder(
        write_evidence(root / "evidence", {FULL: evidence(FULL, dropped)}), DEFAULT_EVIDENCE_PREFIX
    )
    report = merge.merge(from_folder(write_fleet(root / "fleet")), NOW, evidence=found.latest)
    path = root / "fleet.html"
    path.write_text(render.html(report), encoding="utf-8")
    return browse(path, root / "profile")


def test_page_renders_without_console_output(page: Rendered) -> None:
    assert page.console == []
    assert page.dom.one("body").attrs.get("data-ready") == "true"


def test_one_heat_map_per_tier_with_accounts_by_type(page: Rendered) -> None:
    tables = [t for t in page.dom.find_all("table") if "tier-heat" in t.classes]
    assert [t.attrs["data-tier"] for t in tables] == list(TIERS)
    for table in tables:
        headers = [th.text for th in table.one("thead").find_all("th")]
        assert headers == ["account", "S3", "EBS", "RDS", "all types", "RPO"]
        rows = {tr.attrs["data-account"]: tr.attrs["data-stale"] for tr in table.one("tbody").find_all("tr")}
        # The stale report's figures stay striped, though its status is the worse evidence-missing.
        assert rows == {FULL: "false", DRIFT: "false", STALE: "true"}


def test_cells_say_their_source_band_and_figure(page: Rendered) -> None:
    def cell(tier: str, account: str, rtype: str) -> tuple[str, str, set[str]]:
        row = page.dom.one("table", id=f"heatmap-{tier}").one("tr", data_account=account)
        found = row.one("td", data_type=rtype)
        return found.text, found.attrs["data-source"], found.classes

    # Verified: the air-gapped EBS cell shows the dropped copy though the account says 100 %.
    assert cell("air-gapped", FULL, "EBS") == ("0% v", "verified", {"cell", "low"})
    assert cell("air-gapped", FULL, "all") == ("66.67% v", "verified", {"cell", "low"})
    assert cell("in-region", FULL, "EBS") == ("100% v", "verified", {"cell", "full"})
    # No evidence for DRIFT: its own figures, marked self-reported.
    assert cell("in-region", DRIFT, "EBS") == ("50% s", "self-reported", {"cell", "low"})
    assert cell("in-region", DRIFT, "S3") == ("66.67% s", "self-reported", {"cell", "low"})
    rpo = (
        page.dom.one("table", id="heatmap-air-gapped").one("tr", data_account=FULL).one("td", data_rpo="1.0")
    )
    assert rpo.text == "1 h"


def test_attention_lists_the_disagreement_and_the_missing_evidence(page: Rendered) -> None:
    attention = page.dom.one("ul", id="attention")
    full = attention.one("li", data_account=FULL)
    assert full.attrs["data-status"] == "disagree"
    assert "air-gapped: self-reported 100% but verified 66.67%" in full.text
    drift = attention.one("li", data_account=DRIFT)
    assert drift.attrs["data-status"] == "evidence-missing"
    assert "no verifier evidence for the account" in drift.text
