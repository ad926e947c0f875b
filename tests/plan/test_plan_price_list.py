"""python -m drplan.price_list: GetProducts answers (stubbed, checked against botocore's pricing model)
become a price file --price-file accepts; products it cannot place are left out and named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from botocore.session import get_session
from botocore.stub import Stubber

from drplan import cost, price_list

REGION = "us-east-1"


def product(usage: str, usd: str, unit: str = "GB-Mo", **attributes: str) -> str:
    return json.dumps(
        {
            "product": {"sku": usage, "attributes": {"usagetype": usage, "regionCode": REGION, **attributes}},
            "terms": {
                "OnDemand": {
                    "T1": {
                        "effectiveDate": "2026-11-01T00:00:00Z",
                        "priceDimensions": {"D1": {"unit": unit, "pricePerUnit": {"USD": usd}}},
                    }
                }
            },
        }
    )


def request(token: str | None = None) -> dict[str, Any]:
    expected: dict[str, Any] = {
        "ServiceCode": "AWSBackup",
        "Filters": [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": REGION}],
        "FormatVersion": "aws_v1",
    }
    if token:
        expected["NextToken"] = token
    return expected


def stubbed(pages: list[list[str]]) -> tuple[Any, Stubber]:
    client = get_session().create_client(
        "pricing", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    stubber = Stubber(client)
    for n, page in enumerate(pages):
        response: dict[str, Any] = {"FormatVersion": "aws_v1", "PriceList": page}
        if n + 1 < len(pages):
            response["NextToken"] = f"t{n + 1}"
        stubber.add_response("get_products", response, request(f"t{n}" if n else None))
    stubber.activate()
    return client, stubber


def test_products_become_a_price_file_the_plan_accepts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    client, stubber = stubbed(
        [
            [product("USE1-WarmStorage-ByteHrs-EFS", "0.05", resourceType="EFS")],
            [
                product("USE1-ColdStorage-ByteHrs-EFS", "0.01", resourceType="EFS"),
                product("USE1-LogicallyAirGapped-Storage-EBS", "0.06", resourceType="EBS"),
                product("USE1-USE2-DataTransfer-Out", "0.02", unit="GB"),
                product("USE1-WarmStorage-ByteHrs", "0.05"),
                product("USE1-Restore-EFS", "0.02", unit="GB", resourceType="EFS"),
            ],
        ]
    )
    out = tmp_path / "prices.json"
    assert price_list.main(["--region", REGION, "--out", str(out)], client=client) == 0
    stubber.assert_no_pending_responses()
    table = cost.load_prices(out)
    assert table.figure(REGION, cost.WARM, "efs").usd == 0.05
    assert table.figure(REGION, cost.COLD, "efs").usd == 0.01
    assert table.figure(REGION, cost.AIR_GAPPED_TIER, "ebs").usd == 0.06
    assert table.figure(REGION, cost.TRANSFER, "ebs").usd == 0.02
    source = table.figure(REGION, cost.WARM, "efs")
    assert source.source == price_list.OFFER_URL.format(region=REGION)
    assert source.date == "2026-11-01"
    err = capsys.readouterr().err
    # No resource type: not guessed. A restore priced per GB is no storage price.
    assert "left out: USE1-WarmStorage-ByteHrs: names 0 resource types" in err
    assert "left out: USE1-Restore-EFS: unit 'GB' is not GB-Mo/GB-Month for warm" in err


def test_two_products_for_one_figure_are_both_left_out(capsys: pytest.CaptureFixture[str]) -> None:
    client, _ = stubbed(
        [[product("A-WarmStorage-EFS", "0.05", t="EFS"), product("B-WarmStorage-EFS", "0.07", t="EFS")]]
    )
    assert price_list.main(["--region", REGION], client=client) == 0
    document = json.loads(capsys.readouterr().out)
    assert "efs" not in document["prices"].get(REGION, {}).get("warm", {})


def test_a_failed_call_exits_3_and_a_bad_region_2(capsys: pytest.CaptureFixture[str]) -> None:
    client = get_session().create_client(
        "pricing", region_name="us-east-1", aws_access_key_id="testing", aws_secret_access_key="testing"
    )
    stubber = Stubber(client)
    stubber.add_client_error(
        "get_products", "AccessDeniedException", "not allowed", expected_params=request()
    )
    stubber.activate()
    assert price_list.main(["--region", REGION], client=client) == 3
    assert "pricing:GetProducts for AWSBackup in us-east-1 failed" in capsys.readouterr().err
    assert price_list.main(["--region", "us-moon-1"], client=client) == 2
    assert "--region us-moon-1: not an AWS region" in capsys.readouterr().err
