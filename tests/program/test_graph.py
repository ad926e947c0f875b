"""The resource graph the real program registers for the real stack files."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dr_model.backup_selection import selects
from drplan.graph import RegisteredResource, StackGraph
from tests.isolated.isolated_graphs import run_isolated

TYPES = ["s3", "ebs", "efs", "dynamodb", "rds", "aurora", "documentdb", "neptune"]
WORKLOAD, ISOLATED = "111111111111", "222222222222"
KEY, VAULT, PLAN, SELECTION = (
    "aws:kms/key:Key",
    "aws:backup/vault:Vault",
    "aws:backup/plan:Plan",
    "aws:backup/selection:Selection",
)
LAG = "aws:backup/logicallyAirGappedVault:LogicallyAirGappedVault"
CLUSTER_ARN = "arn:aws:rds:us-east-1:111111111111:cluster:orders"


def one(graph: StackGraph, type_token: str, name: str) -> RegisteredResource:
    matches = [r for r in graph.resources if r.type == type_token and r.name == name]
    assert len(matches) == 1, f"{type_token} {name}: {len(matches)} registered"
    return matches[0]


def provider_name(resource: RegisteredResource) -> str:
    return resource.provider_urn.rsplit("::", 1)[-1]


def vault_arn(region: str, account: str, name: str) -> str:
    return f"arn:aws:backup:{region}:{account}:backup-vault:{name}"


# --- providers -------------------------------------------------------------------------------


def test_two_providers_pinned_to_the_workload_account(prod: StackGraph, staging: StackGraph) -> None:
    providers = {r.name: r.inputs for r in prod.by_type("pulumi:providers:aws")}
    # Nothing reaches the isolated account: its stack (isolated/) registers the vaults there.
    assert set(providers) == {"origin", "cross-region"}
    assert providers["origin"]["region"] == "us-east-1"
    assert providers["cross-region"]["region"] == "us-east-2"
    for name in ("origin", "cross-region"):
        assert json.loads(providers[name]["allowedAccountIds"]) == [WORKLOAD]
        tags = json.loads(providers[name]["defaultTags"])["tags"]
        assert tags["environment"] == "production"
        assert tags["managed-by"] == "pulumi"
        assert "assumeRoles" not in providers[name]
    assert {r.name for r in staging.by_type("pulumi:providers:aws")} == {"origin", "cross-region"}


def test_every_aws_resource_has_an_explicit_provider(prod: StackGraph) -> None:
    custom = [r for r in prod.resources if r.custom and not r.type.startswith("pulumi:providers:")]
    assert custom
    assert [r.name for r in custom if not r.provider] == []


# --- keys and vaults -------------------------------------------------------------------------


def test_a_key_and_vault_per_type_and_region(prod: StackGraph) -> None:
    for key in TYPES:
        for place, provider, region in (
            ("origin", "origin", "us-east-1"),
            ("cross-region", "cross-region", "us-east-2"),
        ):
            kms = one(prod, KEY, f"{key}-{place}-key")
            vault = one(prod, VAULT, f"{key}-{place}-vault")
            assert provider_name(kms) == provider_name(vault) == provider
            assert kms.inputs["enableKeyRotation"] is True
            assert kms.inputs["deletionWindowInDays"] == 30
            assert kms.protect
            assert vault.protect
            assert vault.inputs["name"] == f"dr-prod-{key}"
            assert vault.inputs["kmsKeyArn"].startswith(f"arn:aws:kms:{region}:{WORKLOAD}:key/")
            assert vault.inputs["forceDestroy"] is False
    # One key per vault; the operations alert topics have keys of their own.
    vault_keys = [k for k in prod.by_type(KEY) if ":backup:ResourceTypeProtection$" in k.urn]
    type_vaults = [v for v in prod.by_type(VAULT) if ":backup:ResourceTypeProtection$" in v.urn]
    assert len(vault_keys) == len(type_vaults) == 16


def _statements(policy: str) -> list[dict[str, Any]]:
    return list(json.loads(policy)["Statement"])


def test_origin_key_lets_isolated_account_copy_and_grant_only_for_aws_resources(prod: StackGraph) -> None:
    for key in TYPES:
        statements = _statements(one(prod, KEY, f"{key}-origin-key").inputs["policy"])
        principals = [s["Principal"] for s in statements]
        assert all(p != "*" and p.get("AWS") != "*" for p in principals)
        grant = next(s for s in statements if "kms:CreateGrant" in s["Action"])
        assert grant["Principal"] == {"AWS": [f"arn:aws:iam::{ISOLATED}:root"]}
        assert grant["Condition"] == {"Bool": {"kms:GrantIsForAWSResource": "true"}}
        use = next(
            s for s in statements if "kms:Decrypt" in s["Action"] and s["Principal"] == grant["Principal"]
        )
        assert "kms:CreateGrant" not in use["Action"]
        # The cross-region key is used only inside the workload account.
        dr = _statements(one(prod, KEY, f"{key}-cross-region-key").inputs["policy"])
        assert [s["Principal"] for s in dr] == [{"AWS": f"arn:aws:iam::{WORKLOAD}:root"}]


def test_cross_region_vault_policy_lets_only_workload_account_copy_in(prod: StackGraph) -> None:
    for key in TYPES:
        policy = one(prod, "aws:backup/vaultPolicy:VaultPolicy", f"{key}-cross-region-vault-policy")
        assert provider_name(policy) == "cross-region"
        # The one Allow; the Deny beside it is tests/program/test_vault_lock.py's.
        [statement] = [s for s in _statements(policy.inputs["policy"]) if s["Effect"] == "Allow"]
        assert statement["Principal"] == {"AWS": f"arn:aws:iam::{WORKLOAD}:root"}
        assert statement["Action"] == "backup:CopyIntoBackupVault"
        assert statement["Resource"] == vault_arn("us-east-2", WORKLOAD, f"dr-prod-{key}")


# --- plans and selections --------------------------------------------------------------------


def _rule(graph: StackGraph, key: str, plan: str) -> dict[str, Any]:
    [rule] = one(graph, PLAN, f"{key}-{plan}-plan").inputs["rules"]
    return dict(rule)


def _copies(rule: dict[str, Any]) -> dict[str, float]:
    return {c["destinationVaultArn"]: c["lifecycle"]["deleteAfter"] for c in rule.get("copyActions", [])}


AIR_GAPPED_PROD = vault_arn("us-east-1", ISOLATED, "dr-prod-111111111111-air-gapped")
# RDS DB instances cannot be copied into a logically air-gapped vault (docs/aws-facts.md, 3.9): their
# isolated copy goes to the locked standard vault of the isolated account.
LOCKED_PROD = vault_arn("us-east-1", ISOLATED, "dr-prod-111111111111-locked")


def isolated_vault(key: str, air_gapped: str, locked: str) -> str:
    return locked if key == "rds" else air_gapped


@pytest.mark.parametrize("key", TYPES)
def test_prod_partitioned_plans(prod: StackGraph, key: str) -> None:
    plans = [r for r in prod.by_type(PLAN) if r.parent.endswith(f"::{key}")]
    assert sorted(r.inputs["name"] for r in plans) == [f"dr-prod-{key}-account-only", f"dr-prod-{key}-full"]
    continuous = key == "s3"
    dr_vault = vault_arn("us-east-2", WORKLOAD, f"dr-prod-{key}")
    isolated = isolated_vault(key, AIR_GAPPED_PROD, LOCKED_PROD)
    for plan, schedule, copies in (
        ("full", "cron(0 5 ? * * *)", {dr_vault: 3, isolated: 7}),
        ("account-only", "cron(0 7 ? * * *)", {isolated: 7}),
    ):
        rule = _rule(prod, key, plan)
        assert rule["schedule"] == schedule
        assert rule["scheduleExpressionTimezone"] == "Etc/UTC"
        assert rule["startWindow"] == 60
        assert rule["completionWindow"] == 360
        assert rule["targetVaultName"] == f"dr-prod-{key}"
        assert rule["enableContinuousBackup"] is continuous
        assert rule["lifecycle"] == {"deleteAfter": 35 if continuous else 1}
        assert _copies(rule) == copies


@pytest.mark.parametrize("key", [k for k in TYPES if k not in ("documentdb", "neptune")])
def test_staging_split_plans(staging: StackGraph, key: str) -> None:
    air_gapped = isolated_vault(
        key,
        vault_arn("us-east-1", "444444444444", "dr-staging-333333333333-air-gapped"),
        vault_arn("us-east-1", "444444444444", "dr-staging-333333333333-locked"),
    )
    cross_region = _rule(staging, key, "cross-region")
    assert cross_region["schedule"] == "cron(0 5 ? * * *)"
    assert cross_region["enableContinuousBackup"] is False
    assert cross_region["lifecycle"] == {"deleteAfter": 1}
    assert _copies(cross_region) == {vault_arn("us-east-2", "333333333333", f"dr-staging-{key}"): 3}
    cross_account = _rule(staging, key, "cross-account")
    assert cross_account["schedule"] == "cron(0 7 ? * * *)"
    assert cross_account["enableContinuousBackup"] is (key == "s3")
    assert cross_account["lifecycle"] == {"deleteAfter": 35 if key == "s3" else 1}
    assert _copies(cross_account) == {air_gapped: 7}


def test_selections_use_resources_and_conditions_never_tag_unions(prod: StackGraph) -> None:
    selections = prod.by_type(SELECTION)
    assert len(selections) == 16
    for selection in selections:
        assert "selectionTags" not in selection.inputs
        assert selection.inputs["resources"]
        assert selection.inputs["conditions"]
        plan = next(p for p in prod.by_type(PLAN) if p.id == selection.inputs["planId"])
        assert plan.inputs["name"] == selection.inputs["name"]
        assert selection.inputs["iamRoleArn"].endswith("-AWSBackupRole")


def _selection(graph: StackGraph, key: str, plan: str) -> dict[str, Any]:
    return dict(one(graph, SELECTION, f"{key}-{plan}-selection").inputs)


def _plans_selecting(graph: StackGraph, arn: str, tags: dict[str, str]) -> set[str]:
    return {r.inputs["name"] for r in graph.by_type(SELECTION) if selects(r.inputs, arn, tags)}


EBS = "arn:aws:ec2:us-east-1:111111111111:volume/vol-0abc"
OPT_OUT = {"exclude-disaster-recovery-backup": "true"}
NO_CROSS_REGION = {"exclude-cross-region-backup": "true"}


@pytest.mark.parametrize(
    ("tags", "plans"),
    [
        ({}, {"dr-prod-ebs-full"}),
        ({"exclude-disaster-recovery-backup": "false"}, {"dr-prod-ebs-full"}),
        (NO_CROSS_REGION, {"dr-prod-ebs-account-only"}),
        (OPT_OUT, set()),
        ({**OPT_OUT, **NO_CROSS_REGION}, set()),
        ({"kubernetes.io/cluster/platform-prod-1": "owned"}, set()),
        ({"kubernetes.io/cluster/platform-prod-2": "owned"}, set()),
        ({"kubernetes.io/cluster/platform-prod-1": "shared"}, {"dr-prod-ebs-full"}),
        ({"kubernetes.io/cluster/other-cluster": "owned"}, {"dr-prod-ebs-full"}),
    ],
)
def test_partitioned_puts_each_volume_in_at_most_one_plan(
    prod: StackGraph, tags: dict[str, str], plans: set[str]
) -> None:
    assert _plans_selecting(prod, EBS, tags) == plans


@pytest.mark.parametrize(
    ("tags", "plans"),
    [
        ({}, {"dr-staging-ebs-cross-region", "dr-staging-ebs-cross-account"}),
        (NO_CROSS_REGION, {"dr-staging-ebs-cross-account"}),
        (OPT_OUT, set()),
        ({"kubernetes.io/cluster/platform-staging": "owned"}, set()),
    ],
)
def test_split_gives_two_plans_unless_opted_out_of_cross_region(
    staging: StackGraph, tags: dict[str, str], plans: set[str]
) -> None:
    assert _plans_selecting(staging, EBS.replace("111111111111", "333333333333"), tags) == plans


@pytest.mark.parametrize(
    ("tags", "plans"),
    [
        ({}, {"dr-prod-aurora-full"}),
        ({"dr-backup-engine": "aurora"}, {"dr-prod-aurora-full"}),
        ({"dr-backup-engine": "documentdb"}, {"dr-prod-documentdb-full"}),
        ({"dr-backup-engine": "neptune"}, {"dr-prod-neptune-full"}),
        ({"dr-backup-engine": "neptune", **NO_CROSS_REGION}, {"dr-prod-neptune-account-only"}),
        ({"dr-backup-engine": "documentdb", **OPT_OUT}, set()),
    ],
)
def test_each_rds_cluster_lands_in_exactly_one_types_plans(
    prod: StackGraph, tags: dict[str, str], plans: set[str]
) -> None:
    assert _plans_selecting(prod, CLUSTER_ARN, tags) == plans


@pytest.mark.parametrize(
    ("arn", "key"),
    [
        ("arn:aws:s3:::orders-bucket", "s3"),
        ("arn:aws:elasticfilesystem:us-east-1:111111111111:file-system/fs-1", "efs"),
        ("arn:aws:dynamodb:us-east-1:111111111111:table/orders", "dynamodb"),
        ("arn:aws:rds:us-east-1:111111111111:db:orders-1", "rds"),
    ],
)
def test_other_types_select_only_their_own_arns(prod: StackGraph, arn: str, key: str) -> None:
    assert _plans_selecting(prod, arn, {}) == {f"dr-prod-{key}-full"}


def test_account_only_selection_conditions(prod: StackGraph) -> None:
    assert _selection(prod, "ebs", "account-only")["conditions"] == [
        {
            "stringEquals": [{"key": "aws:ResourceTag/exclude-cross-region-backup", "value": "true"}],
            "stringNotEquals": [
                {"key": "aws:ResourceTag/exclude-disaster-recovery-backup", "value": "true"},
                {"key": "aws:ResourceTag/kubernetes.io/cluster/platform-prod-1", "value": "owned"},
                {"key": "aws:ResourceTag/kubernetes.io/cluster/platform-prod-2", "value": "owned"},
            ],
        }
    ]


# --- roles ------------------------------------------------------------------------------------


def test_backup_roles_trust_backup_for_this_account_only(prod: StackGraph) -> None:
    for key in TYPES:
        role = one(prod, "aws:iam/role:Role", f"{key}-backup-role")
        [statement] = _statements(role.inputs["assumeRolePolicy"])
        assert statement["Principal"] == {"Service": "backup.amazonaws.com"}
        assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": WORKLOAD}}
        attached = {
            r.inputs["policyArn"]
            for r in prod.by_type("aws:iam/rolePolicyAttachment:RolePolicyAttachment")
            if r.name.startswith(f"{key}-backup-role-policy-")
        }
        expected = {
            "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForBackup",
            "arn:aws:iam::aws:policy/service-role/AWSBackupServiceRolePolicyForRestores",
        }
        if key == "s3":
            expected |= {
                "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Backup",
                "arn:aws:iam::aws:policy/AWSBackupServiceRolePolicyForS3Restore",
            }
        assert attached == expected


# --- archive ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def isolated() -> dict[str, StackGraph]:
    """The isolated stacks prod and staging copy into."""
    return {stack: run_isolated(stack) for stack in ("isolated-222222222222", "isolated-444444444444")}


def test_the_workload_stack_registers_nothing_in_the_isolated_account(prod: StackGraph) -> None:
    assert prod.by_type(LAG) == []
    assert [r for r in prod.resources if r.type.startswith("aws:ram/")] == []
    assert [r for r in prod.resources if "AirGappedArchive" in r.urn] == []
    # Its vaults are all the workload account's, in its two regions.
    assert sorted(v.inputs["name"] for v in prod.by_type(VAULT)) == sorted(
        f"dr-prod-{key}" for key in TYPES for _ in ("origin", "cross-region")
    )
    assert all(provider_name(v) in ("origin", "cross-region") for v in prod.by_type(VAULT))


def test_air_gapped_archive_in_isolated_account(isolated: dict[str, StackGraph]) -> None:
    graph = isolated["isolated-222222222222"]
    vault = one(graph, LAG, f"archive-{WORKLOAD}-vault")
    assert provider_name(vault) == f"archive-{WORKLOAD}"
    assert vault.protect
    assert vault.inputs["minRetentionDays"] == 7
    assert vault.inputs["maxRetentionDays"] == 35
    policy = one(graph, "aws:backup/vaultPolicy:VaultPolicy", f"archive-{WORKLOAD}-vault-policy")
    [statement] = _statements(policy.inputs["policy"])
    assert statement["Principal"] == {"AWS": f"arn:aws:iam::{WORKLOAD}:root"}
    assert statement["Resource"] == AIR_GAPPED_PROD
    association = one(
        graph, "aws:ram/resourceAssociation:ResourceAssociation", f"archive-{WORKLOAD}-share-vault"
    )
    assert association.inputs["resourceArn"] == AIR_GAPPED_PROD


def test_every_air_gapped_copy_is_inside_the_vault_range(
    prod: StackGraph, staging: StackGraph, isolated: dict[str, StackGraph]
) -> None:
    # partitioned: both plans copy to the air-gapped vault; split: only the cross-account plan.
    for graph, plans_per_type, where in (
        (prod, 2, isolated["isolated-222222222222"]),
        (staging, 1, isolated["isolated-444444444444"]),
    ):
        arn = graph.outputs["airGappedVaultArn"]
        (lag,) = [v for v in where.by_type(LAG) if v.inputs["name"] == arn.rsplit(":", 1)[-1]]
        low, high = lag.inputs["minRetentionDays"], lag.inputs["maxRetentionDays"]
        copies = [
            c
            for plan in graph.by_type(PLAN)
            for rule in plan.inputs["rules"]
            for c in rule.get("copyActions", [])
            if c["destinationVaultArn"] == arn
        ]
        # Every active type but RDS (whose copies go to the locked vault) copies in.
        lag_types = len([v for v in graph.by_type(VAULT) if v.name.endswith("-origin-vault")]) - 1
        assert len(copies) == plans_per_type * lag_types
        assert all(low <= c["lifecycle"]["deleteAfter"] <= high for c in copies)


# Region settings: tests/program/test_region_settings.py.


# --- staging toggles and outputs ---------------------------------------------------------------


def test_staging_registers_nothing_for_switched_off_types(staging: StackGraph) -> None:
    names = " ".join(r.urn for r in staging.resources)
    assert "documentdb" not in names
    assert "neptune" not in names
    # Two per active type (the isolated account's locked vault for RDS is the isolated stack's).
    assert len(staging.by_type(VAULT)) == 12


def test_stack_outputs(prod: StackGraph) -> None:
    outputs = prod.outputs
    assert set(outputs) >= {"vaultArns", "planIds", "airGappedVaultArn", "lockedVaultArn"}
    # The share is the isolated stack's (its output ramShareArns).
    assert "ramShareArn" not in outputs
    assert outputs["vaultArns"]["ebs"] == {
        "us-east-1": vault_arn("us-east-1", WORKLOAD, "dr-prod-ebs"),
        "us-east-2": vault_arn("us-east-2", WORKLOAD, "dr-prod-ebs"),
    }
    assert set(outputs["planIds"]["s3"]) == {"full", "account-only"}
    assert outputs["airGappedVaultArn"] == AIR_GAPPED_PROD
    assert outputs["lockedVaultArn"] == vault_arn("us-east-1", ISOLATED, "dr-prod-111111111111-locked")


def test_protected_resources_are_exactly_keys_and_vaults(prod: StackGraph) -> None:
    protected = {r.type for r in prod.resources if r.protect}
    # The workload vaults' locks are protected in compliance mode only (governance by default).
    assert protected == {KEY, VAULT}


# --- bridges ----------------------------------------------------------------------------------


def _effective_tags(graph: StackGraph, resource: RegisteredResource) -> dict[str, str]:
    provider = next(p for p in graph.by_type("pulumi:providers:aws") if p.urn == resource.provider_urn)
    defaults = json.loads(provider.inputs.get("defaultTags", "{}")).get("tags", {})
    return {**defaults, **resource.inputs.get("tags", {})}


@pytest.mark.parametrize("service", ["opensearch", "memorydb"])
def test_s3_plans_protect_the_bridge_buckets(prod: StackGraph, service: str) -> None:
    bucket = next(
        r
        for r in prod.by_type("aws:s3/bucket:Bucket")
        if r.inputs["bucket"].endswith(f"-{service}-snapshots")
    )
    assert bucket.inputs["bucket"] == f"dr-prod-platform-prod-1-{service}-snapshots"
    assert provider_name(bucket) == "origin"
    tags = _effective_tags(prod, bucket)
    assert "exclude-disaster-recovery-backup" not in tags
    assert _plans_selecting(prod, f"arn:aws:s3:::{bucket.inputs['bucket']}", tags) == {"dr-prod-s3-full"}
    assert prod.outputs["bridgeBuckets"][service] == bucket.inputs["bucket"]


def test_staging_builds_only_the_configured_bridge(staging: StackGraph) -> None:
    assert [r.type for r in staging.resources if r.type.startswith("aws-dr-backup:bridges:")] == [
        "aws-dr-backup:bridges:MemoryDbBridge"
    ]
    # Bridge buckets only: the operations audit has a report bucket of its own.
    buckets = {r.inputs["bucket"] for r in staging.by_type("aws:s3/bucket:Bucket") if ":bridges:" in r.urn}
    assert buckets == {"dr-staging-platform-staging-memorydb-snapshots"}
    # In split layout the bucket is in both S3 plans.
    arn = "arn:aws:s3:::dr-staging-platform-staging-memorydb-snapshots"
    assert _plans_selecting(staging, arn, {}) == {"dr-staging-s3-cross-region", "dr-staging-s3-cross-account"}


def test_copy_destinations_are_known_before_the_vaults_exist(prod: StackGraph) -> None:
    """Copy ARNs are spelled out (a first preview can check them) while creation order is kept: after the DR
    vault; the isolated account's vaults are another stack's, deployed first."""
    for key in TYPES:
        dr_vault = one(prod, VAULT, f"{key}-cross-region-vault")
        for plan in ("full", "account-only"):
            registered = one(prod, PLAN, f"{key}-{plan}-plan")
            assert dr_vault.urn in registered.dependencies
            assert dr_vault.urn not in registered.property_dependencies.get("rules", ())
            targets = {
                c["destinationVaultArn"] for r in registered.inputs["rules"] for c in r.get("copyActions", [])
            }
            isolated = LOCKED_PROD if key == "rds" else AIR_GAPPED_PROD
            assert isolated in targets


@pytest.mark.parametrize("engine", ["documentdb", "neptune", "aurora", None])
def test_switched_off_cluster_types_fall_back_to_aurora(staging: StackGraph, engine: str | None) -> None:
    tags = {"dr-backup-engine": engine} if engine else {}
    arn = CLUSTER_ARN.replace("111111111111", "333333333333")
    assert _plans_selecting(staging, arn, tags) == {
        "dr-staging-aurora-cross-region",
        "dr-staging-aurora-cross-account",
    }
