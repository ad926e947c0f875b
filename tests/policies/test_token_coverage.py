"""Every rule covers every pulumi-aws token of the resources it concerns.

The real token set is derived from the installed pulumi_aws package: each resource class's type token
(`super().__init__('<token>', ...)`) and the alias tokens it declares (`pulumi.Alias(type_=...)`), so a
renamed or V2 type (e.g. `aws:s3/bucketV2:BucketV2`) is linked to its original. A rule's list must hold
every SDK token matching its concept and every alias of the tokens it lists, unless it names the token
as deliberately left out (with a reason).
"""

from __future__ import annotations

import importlib
import re
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pulumi_aws
import pytest

PACK_DIR = Path(__file__).resolve().parents[2] / "policies"
_RESOURCE = re.compile(r"super\(\w+, __self__\).__init__\(\s*'([^']+)'")
_ALIAS = re.compile(r'pulumi\.Alias\(type_="([^"]+)"\)')


def _pack() -> ModuleType:
    if str(PACK_DIR) not in sys.path:
        sys.path.insert(0, str(PACK_DIR))
    return importlib.import_module("dr_policies")


def sdk_tokens() -> tuple[set[str], dict[str, set[str]]]:
    """(all resource tokens, alias graph token -> linked tokens) for the modules the pack's rules read."""
    root = Path(pulumi_aws.__file__).parent
    tokens: set[str] = set()
    links: dict[str, set[str]] = {}
    for module in ("backup", "kms", "s3", "cloudwatch", "organizations"):
        for path in sorted((root / module).glob("*.py")):
            text = path.read_text(encoding="utf-8")
            for own in _RESOURCE.findall(text):
                tokens.add(own)
                for alias in _ALIAS.findall(text):
                    tokens.add(alias)
                    links.setdefault(own, set()).add(alias)
                    links.setdefault(alias, set()).add(own)
    return tokens, links


def closure(token: str, links: dict[str, set[str]]) -> set[str]:
    seen, todo = {token}, [token]
    while todo:
        for nxt in links.get(todo.pop(), set()):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


SDK, LINKS = sdk_tokens()
OWN_COMPONENTS = ("aws-dr-backup-org:",)
RULES: list[Any] = list(_pack().RULES)


def test_sdk_scan_finds_known_tokens_and_aliases() -> None:
    assert {
        "aws:backup/plan:Plan",
        "aws:kms/key:Key",
        "aws:s3/bucket:Bucket",
        "aws:s3/bucketV2:BucketV2",
    } <= SDK
    assert "aws:s3/bucketV2:BucketV2" in closure("aws:s3/bucket:Bucket", LINKS)
    assert "aws:s3/bucketVersioningV2:BucketVersioningV2" in closure(
        "aws:s3/bucketVersioning:BucketVersioning", LINKS
    )


@pytest.mark.parametrize("rule", RULES, ids=[r.name for r in RULES])
def test_rule_tokens_cover_the_sdk(rule: Any) -> None:
    # The repository's own component types (the organisation stack's BackupGuardrails) are not pulumi-aws's.
    listed = {t for t in rule.tokens if not t.startswith(OWN_COMPONENTS)}
    assert listed <= SDK, f"{rule.name} lists tokens pulumi-aws does not define: {sorted(listed - SDK)}"
    expected = {t for t in SDK if re.search(rule.concept, t)}
    assert expected, f"{rule.name}: its concept {rule.concept!r} matches no pulumi-aws token"
    for token in listed:
        expected |= closure(token, LINKS)
    missing = expected - listed - set(rule.related_tokens)
    assert not missing, f"{rule.name} misses pulumi-aws tokens {sorted(missing)}"


@pytest.mark.parametrize("rule", [r for r in RULES if getattr(r, "reads", None)], ids=lambda r: r.name)
def test_stack_rule_reads_cover_every_alias(rule: Any) -> None:
    """The types a stack rule follows (versioning, ownership, event targets, ...) include every generation."""
    reads = set(rule.reads)
    assert reads <= SDK, f"{rule.name} reads tokens pulumi-aws does not define: {sorted(reads - SDK)}"
    missing = {alias for token in reads for alias in closure(token, LINKS)} - reads - set(rule.tokens)
    assert not missing, f"{rule.name} reads {sorted(reads)} but misses their aliases {sorted(missing)}"


def test_new_rules_are_scanned() -> None:
    """The rules of issue 3 are in the parametrised checks above, with the tokens they concern."""
    by_name = {r.name: r for r in RULES}
    tokens = _pack().tokens
    assert by_name["aws-s3-bucket-backup-versioning"].tokens == tokens.S3_BUCKETS
    assert by_name["aws-s3-bucket-backup-versioning"].reads >= tokens.S3_VERSIONING
    assert by_name["aws-s3-bucket-backup-acls-disabled"].reads >= tokens.S3_OWNERSHIP
    assert {"aws:cloudwatch/eventRule:EventRule", "aws:cloudwatch/eventTarget:EventTarget"} <= set(
        by_name["aws-backup-production-failure-alerts"].reads
    )
    for name in (
        "aws-backup-continuous-supported-types",
        "aws-backup-continuous-retention",
        "aws-backup-lifecycle-cold-storage-minimum",
        "aws-backup-vault-single-resource-type",
        "aws-backup-selection-cluster-engine-exclusive",
        "aws-backup-production-coverage",
        "aws-backup-plan-schedule-valid",
        "aws-backup-plan-schedule-rpo",
    ):
        assert by_name[name].tokens <= SDK


def test_s3_token_lists_cover_both_generations() -> None:
    tokens = _pack().tokens
    for group in (
        tokens.S3_BUCKETS,
        tokens.S3_VERSIONING,
        tokens.S3_ACLS,
        tokens.S3_LIFECYCLE,
        tokens.S3_OWNERSHIP,
        tokens.S3_BUCKET_POLICIES,
        tokens.EVENT_RULES,
        tokens.EVENT_TARGETS,
    ):
        assert set(group) <= SDK
        for token in group:
            assert closure(token, LINKS) <= set(group), token


def test_a_missing_alias_would_be_caught() -> None:
    """The check is not vacuous: a bucket rule listing only the old token misses BucketV2."""
    listed = {"aws:s3/bucket:Bucket"}
    assert closure("aws:s3/bucket:Bucket", LINKS) - listed == {"aws:s3/bucketV2:BucketV2"}
