"""``python -m drplan.price_list --region us-east-1 [--out FILE]``: AWS Backup prices from the AWS Price List
API, as a price file for ``--price-file`` (the shape of ``drplan/prices.json``).

Needs credentials allowed ``pricing:GetProducts`` (a read-only call; the Price List API answers in
us-east-1). It asks for the ``AWSBackup`` products of one region and keeps the on-demand USD price of each
product it can place: the tier from the product's usage type (cold, air-gapped, transfer, else warm
storage) and the resource type from the type names in its attributes. How AWS names them is not
documented for AWS Backup (**[inferred]** from the API's generic product shape): products it cannot
place, or that it would place twice, are not guessed: they are listed on stderr, and every figure it
writes names the public offer file of the same data as its source and the offer's effective date.

Exit codes: 0 written; 2 a bad flag (named); 3 the API call failed (no credentials, access denied).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from components.config import backup_regions
from dr_model import catalog
from drplan import cost

SERVICE_CODE = "AWSBackup"
PRICING_ENDPOINT_REGION = "us-east-1"
OFFER_URL = "https://pricing.us-east-1.amazonaws.com/offers/v1.0/aws/AWSBackup/current/{region}/index.json"
STORAGE_UNITS = frozenset({"GB-Mo", "GB-Month"})
TRANSFER_UNITS = frozenset({"GB"})


def _tier(usage: str) -> str:
    text = usage.lower()
    if "airgap" in text or "air-gap" in text or "logicallyairgapped" in text:
        return cost.AIR_GAPPED_TIER
    if "cold" in text:
        return cost.COLD
    if "transfer" in text or "datatransfer" in text:
        return cost.TRANSFER
    return cost.WARM


def _types(attributes: Mapping[str, str]) -> list[str]:
    text = " ".join(str(v) for v in attributes.values()).lower()
    return [key for key in catalog.TYPE_KEYS if key in text]


def _on_demand_usd(terms: Mapping[str, Any]) -> tuple[float, str, str] | None:
    """(USD per unit, unit, effective date) of the product's one on-demand price dimension."""
    found = []
    for term in (terms.get("OnDemand") or {}).values():
        for dimension in (term.get("priceDimensions") or {}).values():
            usd = (dimension.get("pricePerUnit") or {}).get("USD")
            if usd is not None:
                found.append(
                    (float(usd), str(dimension.get("unit", "")), str(term.get("effectiveDate", ""))[:10])
                )
    return found[0] if len(found) == 1 else None


def products(client: Any, region: str) -> Iterator[Mapping[str, Any]]:
    token = None
    while True:
        request: dict[str, Any] = {
            "ServiceCode": SERVICE_CODE,
            "Filters": [{"Type": "TERM_MATCH", "Field": "regionCode", "Value": region}],
            "FormatVersion": "aws_v1",
        }
        if token:
            request["NextToken"] = token
        page = client.get_products(**request)
        for text in page.get("PriceList", []):
            yield json.loads(text)
        token = page.get("NextToken")
        if not token:
            return


def price_file(items: Sequence[Mapping[str, Any]], region: str) -> tuple[dict[str, Any], list[str]]:
    """The price document for ``region`` and the products left out, each with why."""
    figures: dict[str, dict[str, dict[str, Any]]] = {}
    skipped: list[str] = []
    seen: dict[tuple[str, str], str] = {}
    for item in items:
        product = item.get("product") or {}
        attributes = product.get("attributes") or {}
        usage = str(attributes.get("usagetype", ""))
        name = usage or str(product.get("sku", "?"))
        price = _on_demand_usd(item.get("terms") or {})
        if price is None:
            skipped.append(f"{name}: not exactly one on-demand USD price")
            continue
        usd, unit, date = price
        tier = _tier(usage)
        units = TRANSFER_UNITS if tier == cost.TRANSFER else STORAGE_UNITS
        if unit not in units:
            skipped.append(f"{name}: unit {unit!r} is not {'/'.join(sorted(units))} for {tier}")
            continue
        types = _types(attributes)
        key = types[0] if len(types) == 1 else cost.DEFAULT_KEY if tier == cost.TRANSFER else None
        if key is None:
            skipped.append(f"{name}: names {len(types)} resource types ({', '.join(types) or 'none'})")
            continue
        if (tier, key) in seen:
            skipped.append(f"{name}: {tier} {key} already priced by {seen[(tier, key)]}; both left out")
            figures.get(tier, {}).pop(key, None)
            continue
        seen[(tier, key)] = name
        figures.setdefault(tier, {})[key] = {
            "usd": usd,
            "source": OFFER_URL.format(region=region),
            "date": date,
        }
    document = {
        "comment": f"AWS Backup prices for {region} from the AWS Price List API (python -m drplan.price_list)",
        "currency": "USD",
        "prices": {region: figures} if figures else {},
    }
    return document, skipped


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m drplan.price_list", description=__doc__.split("\n\n")[0])
    parser.add_argument("--region", required=True, help="the region whose AWS Backup prices to read")
    parser.add_argument("--out", type=Path, help="write the price file here (default: stdout)")
    return parser


def main(argv: Sequence[str] | None = None, client: Any = None) -> int:
    args = _parser().parse_args(argv)
    regions, _ = backup_regions()
    if regions and args.region not in regions:
        print(f"--region {args.region}: not an AWS region where AWS Backup runs", file=sys.stderr)
        return 2
    try:
        if client is None:
            from dr_runtime.aws import client as make_client

            client = make_client("pricing", PRICING_ENDPOINT_REGION)
        items = list(products(client, args.region))
    except (BotoCoreError, ClientError) as exc:
        print(f"pricing:GetProducts for {SERVICE_CODE} in {args.region} failed: {exc}", file=sys.stderr)
        return 3
    document, skipped = price_file(items, args.region)
    cost.parse_prices(document, "the Price List API's answer")  # what --price-file will accept
    for line in skipped:
        print(f"left out: {line}", file=sys.stderr)
    text = json.dumps(document, indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        args.out.write_text(text, encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
