"""The fleet page rendered by a real browser (headless Chromium): what a person sees, and no errors."""

from __future__ import annotations

import pytest

from dr_runtime.fleet_report import formats as render
from dr_runtime.fleet_report import merge
from dr_runtime.fleet_report.report_sources import from_folder
from tests.fleet_report.browser import Rendered
from tests.fleet_report.browser import render as browse
from tests.fleet_report.reports import DRIFT, FULL, MISSING, NOW, STALE, write_fleet


@pytest.fixture(scope="module")
def page(tmp_path_factory: pytest.TempPathFactory) -> Rendered:
    # One render for the whole module, opened filtered to the drift account's EBS volumes.
    root = tmp_path_factory.mktemp("fleet")
    report = merge.merge(from_folder(write_fleet(root)), NOW, expected=[FULL, DRIFT, STALE, MISSING])
    path = root / "fleet.html"
    path.write_text(render.html(report), encoding="utf-8")
    return browse(path, root / "profile", fragment=f"#account={DRIFT}&type=EBS")


def test_no_console_output_and_the_script_ran(page: Rendered) -> None:
    # Uncaught errors, CSP refusals of any outside resource and console calls would all appear here.
    assert page.console == []
    assert page.dom.one("body").attrs.get("data-ready") == "true"


def test_heat_map_has_one_row_per_account_with_its_status(page: Rendered) -> None:
    heat = page.dom.one("table", id="heatmap")
    rows = {tr.attrs["data-account"]: tr for tr in heat.one("tbody").find_all("tr")}
    assert list(rows) == [FULL, DRIFT, STALE, MISSING]
    assert {a: tr.attrs["data-status"] for a, tr in rows.items()} == {
        FULL: "ok",
        DRIFT: "below-100",
        STALE: "stale",
        MISSING: "missing",
    }
    headers = [th.text for th in heat.one("thead").find_all("th")]
    assert headers == ["account", "status", "S3", "EBS", "RDS", "all types"]


def test_cells_show_coverage_and_its_band(page: Rendered) -> None:
    heat = page.dom.one("table", id="heatmap")

    def cell(account: str, rtype: str) -> tuple[str, set[str]]:
        row = heat.one("tr", data_account=account)
        found = row.one("td", data_type=rtype)
        return found.text, found.classes

    assert cell(FULL, "EBS") == ("100%", {"cell", "full"})
    assert cell(DRIFT, "S3") == ("100%", {"cell", "full"})
    assert cell(DRIFT, "EBS") == ("50%", {"cell", "low"})
    assert cell(DRIFT, "all") == ("66.67%", {"cell", "low"})
    assert cell(MISSING, "S3") == ("-", {"cell", "none"})
    assert cell("fleet", "all") == ("77.78%", {"cell", "low"})
    assert page.dom.one("strong", id="fleet-coverage").text == "77.78%"


def test_accounts_needing_attention_are_listed(page: Rendered) -> None:
    items = {
        li.attrs["data-account"]: li.text
        for li in page.dom.one("ul", id="attention").find_all("li", data_status="stale")
    }
    assert "report is 4.0 days old" in items[STALE]
    missing = page.dom.one("ul", id="attention").one("li", data_account=MISSING)
    assert "no coverage report in the fleet bucket" in missing.text


def test_unprotected_resources_with_why_filtered_by_the_link(page: Rendered) -> None:
    rows = page.dom.one("table", id="unprotected").one("tbody").find_all("tr")
    reasons = {(r.attrs["data-account"], r.attrs["data-reason"]) for r in rows}
    assert reasons == {
        (DRIFT, "no-recent-point"),
        (DRIFT, "opted-out"),
        (FULL, "kubernetes-excluded"),
    }
    assert len(rows) == 4
    assert page.dom.one("strong", id="unprotected-count").text == "4"
    # The page was opened as #account=<drift>&type=EBS: the script hid every other row.
    visible = [r for r in rows if "hidden" not in r.classes]
    assert [(r.attrs["data-account"], r.attrs["data-type"]) for r in visible] == [(DRIFT, "EBS")]
    assert "vol-0b2" in visible[0].text
    assert "no recent recovery point" in visible[0].text
    assert page.dom.one("span", id="filter-note").text == f"1 of 4 shown ({DRIFT}, EBS)"
