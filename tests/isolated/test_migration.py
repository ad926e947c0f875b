"""The migration (docs/isolated-account.md): every resource the old workload program registered in the
isolated account is, renamed, one the isolated program registers, with the same type, physical name,
inputs, protect and retain-on-delete, the same parent and dependencies; and the isolated program registers
nothing else for that account. So after ``pulumi state rename`` and ``pulumi state move`` the isolated
stack's next update finds every resource unchanged: nothing is replaced, created or deleted."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from drplan.graph import RegisteredResource, StackGraph
from isolated import migration
from tests.isolated.isolated_graphs import NS, WORKLOAD_STACKS, comparable, legacy, run_isolated

PROVIDER = "pulumi:providers:aws"
# What the isolated account's provider no longer has: the role the workload pipeline assumed to get in.
DROPPED_PROVIDER_INPUTS = {"assumeRoles"}


def differences(rows: list[dict[str, Any]], graph: StackGraph, account: str) -> list[str]:
    """Each way the isolated graph fails to take over ``rows`` (the old layout's resources of one workload
    stack) unchanged; empty when the move replaces, creates and deletes nothing."""
    by_urn = graph.by_urn()

    def name_of(ref: str) -> str:
        return by_urn[ref.rsplit("::", 1)[0] if ref.count("::") > 3 else ref].name

    ours: dict[tuple[str, str], RegisteredResource] = {
        (r.type, r.name): r
        for r in graph.resources
        if r.name == f"archive-{account}" or r.name.startswith(f"archive-{account}-")
    }
    found: list[str] = []
    expected: set[tuple[str, str]] = set()
    for row in rows:
        if row["type"] == migration.ACCEPTER_TYPE:
            continue  # stays with the workload stack
        key = (row["type"], migration.new_name(row["name"], account))
        expected.add(key)
        new = ours.get(key)
        if new is None:
            found.append(f"{row['type']} {row['name']}: not registered as {key[1]} (would be deleted)")
            continue
        old_inputs, new_inputs = dict(row["inputs"]), dict(new.inputs)
        if row["type"] == PROVIDER:
            for dropped in DROPPED_PROVIDER_INPUTS:
                old_inputs.pop(dropped, None)
        if comparable(old_inputs) != comparable(new_inputs):
            changed = sorted(
                k
                for k in {*old_inputs, *new_inputs}
                if comparable(old_inputs).get(k) != comparable(new_inputs).get(k)
            )
            found.append(f"{key[1]}: inputs differ in {', '.join(changed)}")
        if (row["protect"], row["retainOnDelete"]) != (new.protect, new.retain_on_delete):
            found.append(
                f"{key[1]}: protect/retainOnDelete {row['protect']}/{row['retainOnDelete']} -> "
                f"{new.protect}/{new.retain_on_delete}"
            )
        parent = by_urn[new.parent].name if new.parent in by_urn else None
        if parent != (None if row["parent"] is None else migration.new_name(row["parent"], account)):
            found.append(f"{key[1]}: parent {row['parent']} -> {parent}")
        provider = name_of(new.provider) if new.provider else None
        if provider != (None if row["provider"] is None else migration.new_name(row["provider"], account)):
            found.append(f"{key[1]}: provider {row['provider']} -> {provider}")
        deps = sorted(by_urn[d].name for d in new.dependencies if d in by_urn)
        if deps != sorted(migration.new_name(d, account) for d in row["dependencies"]):
            found.append(f"{key[1]}: dependencies {row['dependencies']} -> {deps}")
    found.extend(
        f"{t} {n}: registered, but not in the old layout (would be created)"
        for t, n in sorted(set(ours) - expected)
    )
    return found


@pytest.mark.parametrize("stack", sorted(WORKLOAD_STACKS))
def test_every_old_isolated_account_resource_is_taken_over_unchanged(stack: str) -> None:
    account, isolated_stack = WORKLOAD_STACKS[stack]
    rows = legacy(stack)
    # The old layout: a component, its provider and the vault, policy, share and locked vault under it.
    assert len(rows) == 12
    assert sum(r["protect"] for r in rows) == 4
    assert differences(rows, run_isolated(isolated_stack), account) == []


def test_invitation_stacks_keep_their_accepter_and_move_the_rest(config_222: dict[str, Any]) -> None:
    config_222[NS + "workloads"][0]["airGappedVault"] = {"shareWith": "invitation"}
    rows = legacy("prod-invitation")
    assert [r["name"] for r in rows if r["type"] == migration.ACCEPTER_TYPE] == ["archive-share-accepter"]
    assert differences(rows, run_isolated("isolated-222222222222", config=config_222), "111111111111") == []
    # The real file (organization) does not fit an invitation stack: the share's input would change.
    assert differences(rows, run_isolated("isolated-222222222222"), "111111111111") == [
        "archive-111111111111-share: inputs differ in allowExternalPrincipals"
    ]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (
            lambda w: w["tags"].update(owner="someone-else"),
            [
                "archive-111111111111: inputs differ in defaultTags",
                "archive-111111111111-locked-key: inputs differ in tags",
                "archive-111111111111-locked-vault: inputs differ in tags",
                "archive-111111111111-share: inputs differ in tags",
                "archive-111111111111-vault: inputs differ in tags",
            ],
        ),
        (
            lambda w: w.update(airGappedVault={"minRetentionDays": 8}),
            [
                "archive-111111111111-vault: inputs differ in minRetentionDays",
                "archive-111111111111-locked-vault-lock: inputs differ in minRetentionDays",
            ],
        ),
        (
            lambda w: w.update(prefix="dr-prd"),
            ["archive-111111111111-vault: inputs differ in name"],
        ),
        (lambda w: w.update(region="us-west-2"), ["archive-111111111111: inputs differ in region"]),
    ],
    ids=["tags", "retention", "prefix", "region"],
)
def test_a_config_that_differs_from_the_old_stack_is_caught(
    config_222: dict[str, Any], change: Any, expected: list[str]
) -> None:
    change(config_222[NS + "workloads"][0])
    found = differences(
        legacy("prod"), run_isolated("isolated-222222222222", config=config_222), "111111111111"
    )
    for line in expected:
        assert line in found, found


def test_a_locked_vault_left_out_would_delete_it(config_222: dict[str, Any]) -> None:
    config_222[NS + "workloads"][0]["lockedVault"] = False
    found = differences(
        legacy("prod"), run_isolated("isolated-222222222222", config=config_222), "111111111111"
    )
    assert (
        "aws:backup/vault:Vault archive-locked-vault: not registered as archive-111111111111-locked-vault (would be deleted)"
        in found
    )
    assert len(found) == 5  # key, alias, vault, lock, policy


def test_an_account_not_in_the_old_layout_would_be_created() -> None:
    graph = run_isolated("isolated-222222222222")
    rows = [r for r in legacy("prod") if r["name"] != "archive-locked-vault-lock"]
    assert differences(rows, graph, "111111111111") == [
        "aws:backup/vaultLockConfiguration:VaultLockConfiguration archive-111111111111-locked-vault-lock: "
        "registered, but not in the old layout (would be created)"
    ]


def _resources(stack: str) -> list[migration.Resource]:
    return [
        migration.Resource(r["type"], r["name"], None if r["parent"] is None else migration.COMPONENT_TYPE)
        for r in legacy(stack)
    ]


def test_the_commands_rename_every_resource_then_move_the_component() -> None:
    steps = migration.commands("acme", "prod", "isolated-222222222222", "111111111111", _resources("prod"))
    source = "acme/aws-dr-backup/prod"
    renames = [s for s in steps if s.startswith("pulumi state rename")]
    # Every resource of the old layout, the component and the provider included, and nothing else.
    assert len(renames) == len(legacy("prod")) == 12
    assert all(f"--stack {source} " in s for s in renames)
    graph = run_isolated("isolated-222222222222")
    new_names = {s.rsplit(" ", 1)[1] for s in renames}
    assert new_names == {r.name for r in graph.resources if r.name.startswith("archive-111111111111")}
    assert renames[-1] == (
        f"pulumi state rename --stack {source} --yes "
        "'urn:pulumi:prod::aws-dr-backup::pulumi:providers:aws::archive' archive-111111111111"
    )
    assert renames[-2].endswith(
        "'urn:pulumi:prod::aws-dr-backup::aws-dr-backup:backup:AirGappedArchive::archive' archive-111111111111"
    )
    assert (
        "'urn:pulumi:prod::aws-dr-backup::aws-dr-backup:backup:AirGappedArchive$"
        "aws:backup/logicallyAirGappedVault:LogicallyAirGappedVault::archive-vault' archive-111111111111-vault"
    ) in renames[0] + "".join(renames)
    assert steps[-1] == (
        f"pulumi state move --source {source} --dest acme/aws-dr-backup-isolated/isolated-222222222222 --yes "
        "'urn:pulumi:prod::aws-dr-backup::aws-dr-backup:backup:AirGappedArchive::archive-111111111111'"
    )
    assert not any("state delete" in s for s in steps)


def test_an_invitation_stacks_accepter_leaves_the_state_first() -> None:
    steps = migration.commands(
        "acme", "prod", "isolated-222222222222", "111111111111", _resources("prod-invitation")
    )
    assert steps[0] == (
        "pulumi state delete --stack acme/aws-dr-backup/prod --yes 'urn:pulumi:prod::aws-dr-backup::"
        "aws-dr-backup:backup:AirGappedArchive$aws:ram/resourceShareAccepter:ResourceShareAccepter::"
        "archive-share-accepter'"
    )
    assert not any("accepter" in s for s in steps[1:])


def test_only_the_archives_names_are_renamed() -> None:
    assert migration.new_name("archive-share", "111111111111") == "archive-111111111111-share"
    assert migration.new_name("archive", "111111111111") == "archive-111111111111"
    with pytest.raises(ValueError, match="'origin' is not a name of the workload stacks' archive"):
        migration.new_name("origin", "111111111111")
    with pytest.raises(ValueError, match="'archived' is not"):
        migration.new_name("archived", "111111111111")


def test_the_legacy_record_is_the_old_program_s_own() -> None:
    """The record's provider is the one the workload stacks assumed into the isolated account with."""
    provider = next(r for r in legacy("prod") if r["type"] == PROVIDER)
    assert json.loads(provider["inputs"]["assumeRoles"])[0]["roleArn"] == (
        "arn:aws:iam::222222222222:role/AwsDrBackupDeployer"
    )
    assert copy.deepcopy(provider)["name"] == "archive"


def _export(stack: str, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """A ``pulumi stack export`` document of the old layout's resources (and one the move leaves)."""
    component = migration.urn(stack, "aws-dr-backup", migration.COMPONENT_TYPE, "archive")
    resources: list[dict[str, Any]] = [
        {"urn": f"urn:pulumi:{stack}::aws-dr-backup::pulumi:pulumi:Stack::aws-dr-backup-{stack}"},
        {"urn": migration.urn(stack, "aws-dr-backup", "pulumi:providers:aws", "origin"), "inputs": {}},
    ]
    for row in rows:
        parent_type = None if row["parent"] is None else migration.COMPONENT_TYPE
        entry: dict[str, Any] = {
            "urn": migration.urn(stack, "aws-dr-backup", row["type"], row["name"], parent_type),
            "inputs": row["inputs"],
        }
        if parent_type is not None:
            entry["parent"] = component
        resources.append(entry)
    return {"version": 3, "deployment": {"resources": resources}}


def test_the_commands_come_from_the_stacks_own_export(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    export = tmp_path / "prod.json"
    export.write_text(json.dumps(_export("prod", legacy("prod"))))
    code = migration.main(
        [
            str(export),
            "--organization",
            "acme",
            "--workload-stack",
            "prod",
            "--isolated-stack",
            "isolated-222222222222",
        ]
    )
    assert code == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed == migration.commands(
        "acme", "prod", "isolated-222222222222", "111111111111", _resources("prod")
    )
    assert not any("::origin'" in line for line in printed), "the workload's own provider stays"


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("not json", "Expecting value"),
        (json.dumps({"version": 3}), "has no deployment.resources list"),
        (
            json.dumps(_export("prod", [r for r in legacy("prod") if r["name"] != "archive"])),
            "has no urn:pulumi:prod::aws-dr-backup::aws-dr-backup:backup:AirGappedArchive::archive: already moved",
        ),
        (
            json.dumps(_export("prod", [r for r in legacy("prod") if r["name"] != "archive-share-workload"])),
            "names no workload account",
        ),
    ],
    ids=["not-json", "not-an-export", "already-moved", "no-principal"],
)
def test_an_unusable_export_is_one_error_and_no_commands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], content: str, expected: str
) -> None:
    export = tmp_path / "prod.json"
    export.write_text(content)
    code = migration.main(
        [
            str(export),
            "--organization",
            "acme",
            "--workload-stack",
            "prod",
            "--isolated-stack",
            "isolated-222222222222",
        ]
    )
    assert code == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.startswith(f"error: {export}: ")
    assert expected in captured.err
    assert captured.err.count("\n") == 1


def test_an_export_of_another_stack_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    export = tmp_path / "staging.json"
    export.write_text(json.dumps(_export("staging", legacy("staging"))))
    code = migration.main(
        [
            str(export),
            "--organization",
            "acme",
            "--workload-stack",
            "prod",
            "--isolated-stack",
            "isolated-222222222222",
        ]
    )
    assert code == 2
    assert "not an export of stack prod" in capsys.readouterr().err
