"""Restore metadata per type: the recovery point's metadata made valid in the DR region, the traps handled,
every chosen default listed, the profile overriding, and what needs a profile setting blocked by name."""

from __future__ import annotations

import json
from typing import Any

import pytest

from dr_runtime.restore import metadata
from dr_runtime.restore.profile import Profile, parse
from dr_runtime.restore.target import TargetFacts
from tests.recovery.conftest import DR, SOURCE_ARNS, SOURCE_METADATA, WORKLOAD, Clients, recovery_point


def _build(
    clients: Clients,
    type_key: str,
    profile: Profile | None = None,
    vault_key: str | None = None,
    **point: Any,
) -> metadata.Draft:
    profile = profile or Profile()
    arn = SOURCE_ARNS[type_key]
    rp = recovery_point(type_key, "rp-1", **point)
    ctx = metadata.Context(
        type_key=type_key,
        source_arn=arn,
        recovery_point=rp,
        target=TargetFacts(clients, DR, WORKLOAD),
        settings=profile.for_type(type_key),
        resource=profile.for_resource(arn),
        name_suffix=metadata.default_suffix(rp["CreationDate"]),
        vault_key=vault_key,
    )
    return metadata.build(ctx, SOURCE_METADATA[type_key])


def _default(draft: metadata.Draft, key: str) -> dict[str, str]:
    [found] = [d for d in draft.defaults if d["key"] == key]
    return found


def _default_vpc(clients: Clients) -> tuple[str, str]:
    ec2 = clients("ec2")
    [vpc] = ec2.describe_vpcs(Filters=[{"Name": "is-default", "Values": ["true"]}])["Vpcs"]
    [sg] = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc["VpcId"]]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]
    return vpc["VpcId"], sg["GroupId"]


def test_s3_restores_into_a_new_bucket_with_a_derived_name(clients: Clients) -> None:
    draft = _build(clients, "s3")
    meta = draft.metadata.as_dict()
    # The point is from 2025-01-15 06:00 UTC; the suffix makes a rerun of the plan reuse the same name.
    assert meta["DestinationBucketName"] == "orders-data-dr-202501150600"
    assert meta["NewBucket"] == "true"
    # The us-east-1 key cannot encrypt a bucket in us-east-2: S3-managed encryption unless a profile says.
    assert meta["EncryptionType"] == "SSE-S3"
    assert "KMSKey" not in meta
    assert _default(draft, "DestinationBucketName")["why"].startswith("a new name derived")
    assert draft.blocked == []


def test_s3_and_dynamodb_take_the_profile_key(clients: Clients, dr_vault_key: str) -> None:
    profile = parse(
        {"types": {"s3": {"kmsKeyId": dr_vault_key}, "dynamodb": {"kmsKeyId": dr_vault_key}}}, "p"
    )
    s3 = _build(clients, "s3", profile).metadata.as_dict()
    assert (s3["EncryptionType"], s3["KMSKey"]) == ("SSE-KMS", dr_vault_key)
    table = _build(clients, "dynamodb", profile).metadata.as_dict()
    assert (table["encryptionType"], table["kmsMasterKeyArn"]) == ("KMS", dr_vault_key)


def test_dynamodb_restores_into_a_new_table(clients: Clients) -> None:
    draft = _build(clients, "dynamodb")
    meta = draft.metadata.as_dict()
    assert meta["targetTableName"] == "orders-dr-202501150600"
    assert meta["encryptionType"] == "Default"
    assert "kmsMasterKeyArn" not in meta


def test_ebs_gets_a_zone_and_the_vault_key_of_the_target_region(clients: Clients, dr_vault_key: str) -> None:
    draft = _build(clients, "ebs", vault_key=dr_vault_key)
    meta = draft.metadata.as_dict()
    assert meta["availabilityZone"] == "us-east-2a"
    assert "us-east-1a is not in us-east-2" in _default(draft, "availabilityZone")["why"]
    # EBS snapshots keep their source's encryption: the us-east-1 key is replaced by the DR vault's key.
    assert meta["kmsKeyId"] == dr_vault_key
    assert meta["encrypted"] == "true"
    assert meta["volumeType"] == "gp3"


def test_ebs_zone_from_the_profile_must_be_in_the_region(clients: Clients) -> None:
    good = _build(clients, "ebs", parse({"types": {"ebs": {"availabilityZone": "us-east-2c"}}}, "p"))
    assert good.metadata.get("availabilityZone") == "us-east-2c"
    bad = _build(clients, "ebs", parse({"types": {"ebs": {"availabilityZone": "us-west-2a"}}}, "p"))
    assert [b["setting"] for b in bad.blocked] == ["types.ebs.availabilityZone"]


def test_efs_restores_into_a_new_file_system(clients: Clients) -> None:
    draft = _build(clients, "efs")
    meta = draft.metadata.as_dict()
    assert meta["newFileSystem"] == "true"
    assert meta["file-system-id"] == "fs-0123456789abcdef0"
    assert meta["CreationToken"] == "fs-0123456789abcdef0-dr-202501150600"
    # Fully managed: the restored file system takes EFS's own key, as restore testing infers.
    assert meta["KmsKeyId"] == metadata.EFS_DEFAULT_KEY


def test_rds_lands_in_the_default_vpc_when_the_source_network_is_missing(clients: Clients) -> None:
    vpc, sg = _default_vpc(clients)
    draft = _build(clients, "rds")
    meta = draft.metadata.as_dict()
    assert meta["DBInstanceIdentifier"] == "orders-db-dr-202501150600"
    # The us-east-1 subnet group, security group, zone, key and parameter group do not exist in us-east-2.
    assert "DBSubnetGroupName" not in meta
    assert vpc in _default(draft, "DBSubnetGroupName")["why"]
    assert json.loads(meta["VpcSecurityGroupIds"]) == [sg]
    assert "AvailabilityZone" not in meta
    assert "KmsKeyId" not in meta
    assert "DBParameterGroupName" not in meta
    assert any("orders-params" in w for w in draft.warnings)
    assert meta["DBInstanceClass"] == "db.r6g.large"
    assert draft.blocked == []


def test_rds_profile_network_is_checked_against_the_region(clients: Clients) -> None:
    ec2 = clients("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.20.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.20.{i}.0/24", AvailabilityZone=f"us-east-2{z}")["Subnet"][
            "SubnetId"
        ]
        for i, z in enumerate("ab")
    ]
    clients("rds").create_db_subnet_group(
        DBSubnetGroupName="dr-databases", DBSubnetGroupDescription="dr", SubnetIds=subnets
    )
    own_sg = ec2.create_security_group(GroupName="db", Description="db", VpcId=vpc)["GroupId"]
    [default_sg] = ec2.describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc]}, {"Name": "group-name", "Values": ["default"]}]
    )["SecurityGroups"]

    only_group = _build(clients, "rds", parse({"types": {"rds": {"dbSubnetGroupName": "dr-databases"}}}, "p"))
    assert only_group.metadata.get("DBSubnetGroupName") == "dr-databases"
    # Security groups default to the default group of the subnet group's VPC, not of the default VPC.
    assert json.loads(only_group.metadata.get("VpcSecurityGroupIds") or "") == [default_sg["GroupId"]]

    both = _build(
        clients,
        "rds",
        parse(
            {"types": {"rds": {"dbSubnetGroupName": "dr-databases", "vpcSecurityGroupIds": [own_sg]}}}, "p"
        ),
    )
    assert json.loads(both.metadata.get("VpcSecurityGroupIds") or "") == [own_sg]
    assert set(both.overrides) >= {"DBSubnetGroupName", "VpcSecurityGroupIds"}

    _, default_vpc_sg = _default_vpc(clients)
    wrong_vpc = _build(
        clients,
        "rds",
        parse(
            {
                "types": {
                    "rds": {"dbSubnetGroupName": "dr-databases", "vpcSecurityGroupIds": [default_vpc_sg]}
                }
            },
            "p",
        ),
    )
    assert [b["setting"] for b in wrong_vpc.blocked] == ["types.rds.vpcSecurityGroupIds"]
    missing = _build(clients, "rds", parse({"types": {"rds": {"dbSubnetGroupName": "nope"}}}, "p"))
    assert [b["setting"] for b in missing.blocked] == ["types.rds.dbSubnetGroupName"]


@pytest.mark.parametrize("type_key", ["rds", "aurora", "documentdb", "neptune"])
def test_without_a_default_vpc_the_subnet_group_is_required(clients: Clients, type_key: str) -> None:
    vpc, _ = _default_vpc(clients)
    ec2 = clients("ec2")
    for subnet in ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [vpc]}])["Subnets"]:
        ec2.delete_subnet(SubnetId=subnet["SubnetId"])
    ec2.delete_vpc(VpcId=vpc)
    draft = _build(clients, type_key)
    assert [b["setting"] for b in draft.blocked] == [f"types.{type_key}.dbSubnetGroupName"]
    assert "prod-databases" in draft.blocked[0]["why"]
    assert "no default VPC" in draft.blocked[0]["why"]


@pytest.mark.parametrize(
    ("type_key", "engine", "service"),
    [
        ("aurora", "aurora-postgresql", "rds"),
        ("documentdb", "docdb", "docdb"),
        ("neptune", "neptune", "neptune"),
    ],
)
def test_cluster_restores_create_no_instances_and_the_plan_says_so(
    clients: Clients, dr_vault_key: str, type_key: str, engine: str, service: str
) -> None:
    cluster = {"aurora": "ledger", "documentdb": "catalog", "neptune": "graph"}[type_key]
    profile = parse({"types": {type_key: {"instanceClass": "db.r6g.large", "instanceCount": 2}}}, "p")
    draft = _build(clients, type_key, profile, vault_key=dr_vault_key)
    meta = draft.metadata.as_dict()
    name = f"{cluster}-dr-202501150600"
    assert meta["DBClusterIdentifier"] == name
    assert meta["Engine"] == engine
    assert meta["KmsKeyId"] == dr_vault_key
    assert "AvailabilityZones" not in meta  # the us-east-1 zones are dropped; the service picks
    assert any("without DB instances" in w for w in draft.warnings)
    assert draft.follow_up == [
        f"aws {service} create-db-instance --region {DR} --db-cluster-identifier {name} "
        f"--db-instance-identifier {name}-{i} --engine {engine} --db-instance-class db.r6g.large"
        for i in (1, 2)
    ]
    assert draft.instances == {
        "service": service,
        "cluster": name,
        "engine": engine,
        "instanceClass": "db.r6g.large",
        "identifiers": [f"{name}-1", f"{name}-2"],
    }


def test_cluster_without_instance_class_says_which_setting_to_add(clients: Clients) -> None:
    draft = _build(clients, "aurora")
    assert any("types.aurora.instanceClass" in w for w in draft.warnings)
    assert "<types.aurora.instanceClass>" in draft.follow_up[0]
    assert draft.blocked == []  # the cluster itself restores without it


def test_a_disabled_key_blocks_the_restore_by_setting(clients: Clients, dr_vault_key: str) -> None:
    clients("kms").disable_key(KeyId=dr_vault_key.rsplit("/", 1)[-1])
    draft = _build(clients, "aurora", parse({"types": {"aurora": {"kmsKeyId": dr_vault_key}}}, "p"))
    assert [b["setting"] for b in draft.blocked] == ["types.aurora.kmsKeyId"]
    assert "Disabled" in draft.blocked[0]["why"]


def test_profile_metadata_and_names_override_last(clients: Clients) -> None:
    arn = SOURCE_ARNS["dynamodb"]
    profile = parse(
        {
            "types": {"dynamodb": {"metadata": {"deletionProtection": "true"}}},
            "resources": {arn: {"name": "orders-dr", "metadata": {"EncryptionType": "KMS"}}},
        },
        "p",
    )
    meta = _build(clients, "dynamodb", profile).metadata.as_dict()
    assert meta["targetTableName"] == "orders-dr"
    assert meta["deletionProtection"] == "true"
    # Keys match without regard to case, and keep the spelling first given.
    assert meta["encryptionType"] == "KMS"
    assert "EncryptionType" not in meta


def test_names_respect_each_services_rules() -> None:
    long = "A" * 80
    assert metadata.derive_name("rds", "9db__x", "dr-202501150600") == "r-9db-x-dr-202501150600"
    assert len(metadata.derive_name("s3", long, "dr-202501150600")) == 63
    assert metadata.derive_name("s3", long, "dr-1").islower()
    assert metadata.derive_name("dynamodb", "Orders.v2", "dr") == "Orders.v2-dr"
    assert "--" not in metadata.derive_name("aurora", "a--b-", "dr")
    assert metadata.instance_name("x" * 63, 1) == "x" * 61 + "-1"
