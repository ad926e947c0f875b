"""The restore profile is validated at the edge: each rejection names the key, the value and what is allowed."""

from __future__ import annotations

from pathlib import Path

import pytest

from dr_model import catalog
from dr_runtime.restore import profile
from dr_runtime.restore.failures import InputError


def test_a_full_profile_parses(tmp_path: Path) -> None:
    path = tmp_path / "profile.yaml"
    path.write_text(
        """
iamRoleArn: arn:aws:iam::111111111111:role/dr-restore
nameSuffix: dr
types:
  rds: {dbSubnetGroupName: dr-db, vpcSecurityGroupIds: [sg-0123456789abcdef0], dbInstanceClass: db.r6g.large}
  aurora: {instanceClass: db.serverless, instanceCount: 2, kmsKeyId: alias/dr}
  ebs: {availabilityZone: us-east-2b}
resources:
  arn:aws:dynamodb:us-east-1:111111111111:table/orders: {name: orders-dr, metadata: {deletionProtection: "true"}}
""",
        encoding="utf-8",
    )
    loaded = profile.load(path)
    assert loaded.role_for("s3") == "arn:aws:iam::111111111111:role/dr-restore"
    assert loaded.for_type("rds").vpc_security_group_ids == ("sg-0123456789abcdef0",)
    assert loaded.for_type("aurora").instance_count == 2
    assert loaded.for_type("efs") == profile.TypeSettings()
    assert loaded.for_resource("arn:aws:dynamodb:us-east-1:111111111111:table/orders").name == "orders-dr"


def test_every_catalog_type_has_settings() -> None:
    assert set(profile.SETTINGS) == set(catalog.TYPE_KEYS)


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ({"types": {"redshift": {}}}, "p: types.redshift: unknown resource type; allowed: s3, ebs, efs"),
        (
            {"types": {"s3": {"dbSubnetGroupName": "x"}}},
            "p: types.s3.dbSubnetGroupName: not a setting of s3; allowed: iamRoleArn, kmsKeyId, metadata",
        ),
        (
            {"types": {"rds": {"vpcSecurityGroupIds": ["default"]}}},
            "p: types.rds.vpcSecurityGroupIds.0 = 'default': must be a security group ID (sg-...)",
        ),
        ({"iamRoleArn": "dr-restore"}, "p: iamRoleArn = 'dr-restore': must be an IAM role ARN"),
        (
            {"types": {"ebs": {"availabilityZone": "us-east-2"}}},
            "p: types.ebs.availabilityZone = 'us-east-2': must be an availability zone",
        ),
        (
            {"types": {"aurora": {"instanceCount": 99}}},
            "p: types.aurora.instanceCount = 99: Input should be less than or equal to 16",
        ),
        ({"colour": "blue"}, "p: colour = 'blue': Extra inputs are not permitted"),
        (["a"], "p: expected a mapping at the top level"),
    ],
)
def test_rejections_name_the_key(raw: object, message: str) -> None:
    with pytest.raises(InputError) as raised:
        profile.parse(raw, "p")
    assert str(raised.value).startswith(message)
    assert "\n" not in str(raised.value)


def test_missing_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match=r"--profile .*missing.yaml: no such file"):
        profile.load(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("types: [unclosed\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"--profile .*bad.yaml: not a YAML document"):
        profile.load(bad)
    assert profile.load(None) == profile.EMPTY


def test_a_key_given_twice_is_refused_with_both_lines(tmp_path: Path) -> None:
    # Plain YAML would keep the second role silently: the restore would run with a role nobody chose.
    twice = tmp_path / "twice.yaml"
    twice.write_text(
        "iamRoleArn: arn:aws:iam::111111111111:role/AWSBackupRestoreA\n"
        "iamRoleArn: arn:aws:iam::111111111111:role/AWSBackupRestoreB\n",
        encoding="utf-8",
    )
    with pytest.raises(InputError) as raised:
        profile.load(twice)
    assert str(raised.value) == (
        f"--profile {twice}: key 'iamRoleArn' is given twice, on line 1 and line 2; "
        "YAML would silently keep only the last one: remove one of them"
    )
