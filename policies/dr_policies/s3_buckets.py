"""Rule 10: S3 buckets that AWS Backup protects.

A bucket is in backup scope when a selection of the stack can pick it (its ARN matches the selection's
resources, e.g. ``arn:aws:s3:::*``, and its tags pass the conditions) and it does not carry the DR opt-out
tag. Such a bucket needs versioning (AWS Backup refuses to back up an unversioned bucket) and ACLs
disabled (object ownership ``BucketOwnerEnforced``: restoring a bucket backed up with ACLs needs a target
with ACLs too, and ACLs are the legacy way to leak objects). Sources:
https://docs.aws.amazon.com/aws-backup/latest/devguide/s3-backups.html,
https://docs.aws.amazon.com/aws-backup/latest/devguide/restoring-s3.html.

One narrow exception: MemoryDB writes snapshot exports with ACLs and needs ``BucketOwnerPreferred``
(https://docs.aws.amazon.com/memorydb/latest/devguide/snapshots-exporting.html). A bucket is exempt
from the ACL rule only when its bucket policy grants the regional service principal
``<region>.memorydb-snapshot.amazonaws.com`` AND its ownership is ``BucketOwnerPreferred``;
``ObjectWriter`` is never accepted.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from pulumi_policy import EnforcementLevel, Severity

from . import iam, scope, tokens
from .framework import Finding, ResourceView, Rule, StackRule, StackView, cannot_verify
from .pack_config import Settings
from .values import UnknownValue, get, get_list, is_unknown

_ANY_REGION = re.compile(r"^[a-z]{2}(-gov|-iso[a-z]*)?-[a-z]+-\d\.memorydb-snapshot\.amazonaws\.com$")
# Two unrelated names: a pattern matching both matches every bucket.
_PROBES = ("arn:aws:s3:::aaaa-probe", "arn:aws:s3:::zz.9-probe")


@dataclass(frozen=True)
class _InScope:
    bucket: ResourceView
    why: str
    undecided: str | None = None
    """Why scope is not known at preview: report a problem as "cannot verify" instead of a violation."""

    def finding(self, problem: str, fix: str) -> Finding:
        if self.undecided is None:
            return Finding(self.bucket, f"it is in backup scope ({self.why}) but {problem}", fix)
        return cannot_verify(
            self.bucket,
            f"{problem}, and whether it is in backup scope is not known ({self.undecided})",
            f"Buckets in backup scope need this: {fix}.",
        )


class _Buckets:
    """Buckets of the stack and the separate resources that configure them, linked once."""

    def __init__(self, stack: StackView) -> None:
        self.stack = stack
        self.buckets = stack.of(tokens.S3_BUCKETS)
        by_name: dict[str, list[ResourceView]] = {}
        for bucket in self.buckets:
            name = bucket.props.get("bucket")
            if isinstance(name, str) and not is_unknown(name):
                by_name.setdefault(name, []).append(bucket)
        self.configs: dict[str, dict[str, list[ResourceView]]] = {}
        for kind, types in (
            ("versioning", tokens.S3_VERSIONING),
            ("ownership", tokens.S3_OWNERSHIP),
            ("policy", tokens.S3_BUCKET_POLICIES),
        ):
            for config in stack.of(types):
                for bucket_urn in self._targets(config, by_name):
                    self.configs.setdefault(bucket_urn, {}).setdefault(kind, []).append(config)

    def _targets(self, config: ResourceView, by_name: Mapping[str, list[ResourceView]]) -> list[str]:
        linked = [u for u in config.depends_on("bucket") if u in self.stack.by_urn]
        if linked:
            return linked
        value = config.props.get("bucket")
        if isinstance(value, str) and not is_unknown(value):
            return [b.urn for b in by_name.get(value, ()) if b.provider.urn == config.provider.urn] or [
                b.urn for b in by_name.get(value, ())
            ]
        return []

    def of(self, bucket: ResourceView, kind: str) -> list[ResourceView]:
        return self.configs.get(bucket.urn, {}).get(kind, [])


def _bucket_tags(bucket: ResourceView) -> dict[str, str]:
    tags = get(bucket.props, "tags")
    if not isinstance(tags, Mapping):
        return {}
    return {str(k): str(get(bucket.props, "tags", k)) for k in tags}


def _matches(arn: str, patterns: tuple[str, ...]) -> bool:
    return any(fnmatch.fnmatchcase(arn, p) for p in patterns)


def _selected(sc: scope.Scope, bucket: ResourceView, tags: Mapping[str, str]) -> bool | None:
    """Whether the selection picks the bucket; None when the bucket's name is unknown and the pattern partial."""
    if not sc.admits(tags):
        return False
    if any(tags.get(k) == v for k, v in sc.tag_union):
        return True
    name = bucket.props.get("bucket")
    if isinstance(name, str) and not is_unknown(name):
        arn = f"arn:aws:s3:::{name}"
        return _matches(arn, sc.patterns) and not _matches(arn, sc.excluded)
    # Auto-named, or named from an output: decided only if the patterns treat every bucket alike.
    verdicts = {_matches(probe, sc.patterns) and not _matches(probe, sc.excluded) for probe in _PROBES}
    partial = any(p.startswith("arn:aws:s3:::") and p != "arn:aws:s3:::*" for p in sc.patterns + sc.excluded)
    if len(verdicts) > 1 or partial:
        return None
    return verdicts.pop()


def _compatible(selection: ResourceView, bucket: ResourceView) -> bool:
    if selection.region is not None and bucket.region is not None and selection.region != bucket.region:
        return False
    a, b = selection.provider.account, bucket.provider.account
    return not (a is not None and b is not None and a != b)


def _in_scope(stack: StackView, buckets: _Buckets, settings: Settings) -> Iterator[_InScope]:
    """Buckets a selection picks (decided), or may pick (``undecided`` says why)."""
    opt_out_key, opt_out_value = str(settings["drOptOutTagKey"]), str(settings["optOutTagValue"])
    scopes: list[tuple[ResourceView, scope.Scope]] = []
    unknown_scopes: list[tuple[ResourceView, UnknownValue]] = []
    for selection in stack.of(tokens.SELECTIONS):
        try:
            sc = scope.scope_of(selection)
        except UnknownValue as unknown:
            unknown_scopes.append((selection, unknown))
            continue
        if sc.tag_union or any(p == "*" or p.startswith(("arn:aws:s3:", "arn:aws:s3*")) for p in sc.patterns):
            scopes.append((selection, sc))
    if not scopes and not unknown_scopes:
        return
    for bucket in buckets.buckets:
        try:
            tags: dict[str, str] | None = _bucket_tags(bucket)
        except UnknownValue as unknown:
            tags, tag_problem = None, f"{unknown} is unknown at preview"
        if tags is not None and tags.get(opt_out_key) == opt_out_value:
            continue
        reasons: list[str] = []
        picked: ResourceView | None = None
        for selection, sc in scopes:
            if not _compatible(selection, bucket):
                continue
            if tags is None:
                reasons.append(tag_problem)
                continue
            verdict = _selected(sc, bucket, tags)
            if verdict:
                picked = selection
                break
            if verdict is None:
                reasons.append(
                    f"its name is unknown at preview and {selection.label} picks buckets by name pattern"
                )
        if picked is not None:
            yield _InScope(bucket, f"{picked.label} backs it up")
            continue
        reasons += [
            f"{s.label} {u} is unknown at preview" for s, u in unknown_scopes if _compatible(s, bucket)
        ]
        if reasons:
            yield _InScope(bucket, "", undecided=reasons[0])


def _versioned(bucket: ResourceView, buckets: _Buckets) -> tuple[bool, str]:
    for config in buckets.of(bucket, "versioning"):
        status = get(config.props, "versioningConfiguration", "status")
        if status == "Enabled":
            return True, ""
        return False, f"{config.label} sets status {status!r}"
    inline = get(bucket.props, "versioning")
    entries = inline if isinstance(inline, list) else [inline] if inline is not None else []
    entries += get_list(bucket.props, "versionings")
    for i, entry in enumerate(entries):
        if isinstance(entry, Mapping):
            enabled = get(entry, "enabled")
            if enabled is True:
                return True, ""
            if enabled is False:
                return False, f"inline versioning[{i}] has enabled=false"
    return False, "no BucketVersioning resource or inline versioning enables it"


def check_versioning(stack: StackView, settings: Settings) -> Iterator[Finding]:
    buckets = _Buckets(stack)
    for item in _in_scope(stack, buckets, settings):
        bucket = item.bucket
        try:
            ok, detail = _versioned(bucket, buckets)
        except UnknownValue as unknown:
            yield cannot_verify(bucket, unknown, "AWS Backup needs versioning on buckets it backs up.")
            continue
        if not ok:
            yield item.finding(
                f"versioning is not enabled ({detail}); AWS Backup cannot back up an unversioned bucket",
                "add aws.s3.BucketVersioning(bucket=<bucket>.id, versioning_configuration="
                "BucketVersioningVersioningConfigurationArgs(status='Enabled')) (plus a noncurrent-version "
                "expiration lifecycle), or tag the bucket with the DR opt-out tag",
            )


def _grants_memorydb(bucket: ResourceView, buckets: _Buckets) -> tuple[bool, str]:
    """Whether a bucket policy lets MemoryDB's regional service principal write exports."""
    documents: list[tuple[str, Any]] = [
        (p.label, get(p.props, "policy")) for p in buckets.of(bucket, "policy")
    ]
    if "policy" in bucket.props and bucket.props.get("policy"):
        documents.append((f"{bucket.label} inline policy", get(bucket.props, "policy")))
    region = bucket.region
    wanted = (
        f"{region}.memorydb-snapshot.amazonaws.com" if region else "<region>.memorydb-snapshot.amazonaws.com"
    )
    for _label, document in documents:
        try:
            statements = iam.parse(document)
        except iam.DocumentError:
            continue
        for st in statements:
            if not st.allows:
                continue
            for principal in st.other_principals:
                kind, _, service = principal.partition(":")
                if kind != "Service":
                    continue
                if service == wanted or (region is None and _ANY_REGION.match(service)):
                    return True, ""
    return False, f"no bucket policy grants the service principal {wanted}"


def check_acls_disabled(stack: StackView, settings: Settings) -> Iterator[Finding]:
    buckets = _Buckets(stack)
    for item in _in_scope(stack, buckets, settings):
        bucket = item.bucket
        controls = buckets.of(bucket, "ownership")
        try:
            ownership = [str(get(c.props, "rule", "objectOwnership")) for c in controls]
            if ownership and all(o == "BucketOwnerEnforced" for o in ownership):
                continue
            memorydb, missing = (
                _grants_memorydb(bucket, buckets) if "BucketOwnerPreferred" in ownership else (False, "")
            )
        except UnknownValue as unknown:
            yield cannot_verify(bucket, unknown, "Buckets in backup scope need ACLs disabled.")
            continue
        if ownership == ["BucketOwnerPreferred"] and memorydb:
            continue  # MemoryDB snapshot exports need ACLs: the one narrow exception
        if not ownership:
            problem = "it has no BucketOwnershipControls, so ACLs are not known to be disabled"
        elif "ObjectWriter" in ownership:
            problem = (
                "its object ownership is ObjectWriter (ACLs enabled; never allowed, not even for MemoryDB)"
            )
        else:
            problem = (
                f"its object ownership is {', '.join(ownership)} (ACLs enabled); only a bucket receiving "
                f"MemoryDB snapshot exports may keep BucketOwnerPreferred, and {missing}"
            )
        yield item.finding(
            problem,
            "add aws.s3.BucketOwnershipControls(bucket=<bucket>.id, rule=BucketOwnershipControlsRuleArgs("
            "object_ownership='BucketOwnerEnforced')); a MemoryDB export bucket instead uses "
            "'BucketOwnerPreferred' and a bucket policy granting <region>.memorydb-snapshot.amazonaws.com",
        )


_BUCKET = r"^aws:s3/bucket(V2)?:"
_READS = tokens.SELECTIONS | tokens.S3_VERSIONING | tokens.S3_OWNERSHIP | tokens.S3_BUCKET_POLICIES

RULES: list[Rule] = [
    StackRule(
        name="aws-s3-bucket-backup-versioning",
        description=(
            "An S3 bucket in backup scope (a selection of the stack picks it and it does not carry the DR "
            "opt-out tag) must have versioning enabled: AWS Backup cannot back up an unversioned bucket. Fix: "
            "add a BucketVersioning resource with status 'Enabled'."
        ),
        remediation_steps=(
            "Add `aws.s3.BucketVersioning(bucket=bucket.id, versioning_configuration="
            "aws.s3.BucketVersioningVersioningConfigurationArgs(status='Enabled'))` and a lifecycle rule "
            "expiring noncurrent versions; or tag the bucket `<drOptOutTagKey>=<optOutTagValue>` if it must not "
            "be backed up."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.HIGH,
        config_keys=("drOptOutTagKey", "optOutTagValue"),
        tokens=tokens.S3_BUCKETS,
        reads=_READS,
        related_tokens={},
        concept=_BUCKET,
        check=check_versioning,
    ),
    StackRule(
        name="aws-s3-bucket-backup-acls-disabled",
        description=(
            "An S3 bucket in backup scope must have ACLs disabled (BucketOwnershipControls with "
            "BucketOwnerEnforced). The only exception is explicit and narrow: a bucket receiving MemoryDB "
            "snapshot exports may use BucketOwnerPreferred when its bucket policy grants the regional "
            "<region>.memorydb-snapshot.amazonaws.com service principal; ObjectWriter is never accepted. Fix: "
            "set object_ownership='BucketOwnerEnforced'."
        ),
        remediation_steps=(
            "Add `aws.s3.BucketOwnershipControls(bucket=bucket.id, rule=aws.s3.BucketOwnershipControlsRuleArgs("
            "object_ownership='BucketOwnerEnforced'))`. For a MemoryDB export bucket use 'BucketOwnerPreferred' "
            "and a bucket policy allowing `<region>.memorydb-snapshot.amazonaws.com` the export actions."
        ),
        enforcement=EnforcementLevel.MANDATORY,
        severity=Severity.MEDIUM,
        config_keys=("drOptOutTagKey", "optOutTagValue"),
        tokens=tokens.S3_BUCKETS,
        reads=_READS,
        related_tokens={},
        concept=_BUCKET,
        check=check_acls_disabled,
    ),
]
