"""The isolated account's program for the real stack files: what it registers, and the config it refuses."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import pytest

from components.config import PROVIDER_TAGS, ConfigError
from drplan.graph import RegisteredResource, StackGraph
from tests.isolated.isolated_graphs import NS, run_isolated

STACK = "isolated-222222222222"
ISOLATED = "222222222222"
ACCOUNTS = ("111111111111", "555555555555", "666666666666")
LAG = "aws:backup/logicallyAirGappedVault:LogicallyAirGappedVault"
VAULT = "aws:backup/vault:Vault"
POLICY = "aws:backup/vaultPolicy:VaultPolicy"
LOCK = "aws:backup/vaultLockConfiguration:VaultLockConfiguration"
SHARE = "aws:ram/resourceShare:ResourceShare"
PRINCIPAL = "aws:ram/principalAssociation:PrincipalAssociation"
ACCEPTER = "aws:ram/resourceShareAccepter:ResourceShareAccepter"
KEY = "aws:kms/key:Key"


def named(graph: StackGraph, type_token: str, name: str) -> RegisteredResource:
    found = [r for r in graph.by_type(type_token) if r.name == name]
    assert len(found) == 1, f"{type_token} {name}: {len(found)} registered"
    return found[0]


def provider_name(resource: RegisteredResource) -> str:
    return resource.provider_urn.rsplit("::", 1)[-1]


def test_one_provider_per_workload_account_with_the_isolated_accounts_own_credentials(
    isolated_graphs: dict[str, StackGraph],
) -> None:
    graph = isolated_graphs[STACK]
    providers = {r.name: r.inputs for r in graph.by_type("pulumi:providers:aws")}
    assert set(providers) == {f"archive-{a}" for a in ACCOUNTS}
    owners = {"111111111111": "platform-team", "555555555555": "payments-team", "666666666666": "data-team"}
    for account, owner in owners.items():
        inputs = providers[f"archive-{account}"]
        assert json.loads(inputs["allowedAccountIds"]) == [ISOLATED]
        assert inputs["region"] == "us-east-1"
        # The pipeline's credentials are the isolated account's: no role to assume, none to trust.
        assert "assumeRoles" not in inputs
        tags = json.loads(inputs["defaultTags"])["tags"]
        assert tags == {"environment": "production", "owner": owner, **PROVIDER_TAGS}


def test_each_accounts_vaults_share_and_policy_reach_that_account_only(
    isolated_graphs: dict[str, StackGraph],
) -> None:
    graph = isolated_graphs[STACK]
    prefixes = {"111111111111": "dr-prod", "555555555555": "dr-payments", "666666666666": "dr-analytics"}
    for account, prefix in prefixes.items():
        base = f"archive-{account}"
        vault = named(graph, LAG, f"{base}-vault")
        assert vault.inputs["name"] == f"{prefix}-{account}-air-gapped"
        assert vault.protect
        locked = named(graph, VAULT, f"{base}-locked-vault")
        assert locked.inputs["name"] == f"{prefix}-{account}-locked"
        assert locked.protect
        assert named(graph, LOCK, f"{base}-locked-vault-lock").protect
        assert named(graph, KEY, f"{base}-locked-key").protect
        for policy in (
            named(graph, POLICY, f"{base}-vault-policy"),
            named(graph, POLICY, f"{base}-locked-vault-policy"),
        ):
            principals = {
                json.dumps(s.get("Principal"), sort_keys=True)
                for s in json.loads(policy.inputs["policy"])["Statement"]
            }
            assert all(ISOLATED not in p for p in principals)
            assert any(account in p for p in principals)
            assert all(other not in p for p in principals for other in prefixes if other != account)
        assert named(graph, PRINCIPAL, f"{base}-share-workload").inputs["principal"] == account
        assert named(graph, SHARE, f"{base}-share").inputs["allowExternalPrincipals"] is False
        children = [r for r in graph.resources if r.custom and r.name.startswith(f"{base}-")]
        assert children
        assert {provider_name(r) for r in children} == {base}
    assert graph.by_type(ACCEPTER) == []
    assert graph.outputs["airGappedVaultArns"]["111111111111"] == (
        f"arn:aws:backup:us-east-1:{ISOLATED}:backup-vault:dr-prod-111111111111-air-gapped"
    )
    assert set(graph.outputs["ramShareArns"]) == set(prefixes)
    assert set(graph.outputs["lockedVaultArns"]) == set(prefixes)


def test_the_locked_vaults_lock_is_deleted_before_it_is_replaced(
    isolated_graphs: dict[str, StackGraph],
) -> None:
    """A vault has one lock configuration: a replacement put first and the old one deleted after would leave
    the vault unlocked. So each locked vault's lock is delete-before-replace, like the workload vaults' locks
    (components/vault_lock.py); the vaults and keys, which must never be replaced, are not."""
    for graph in isolated_graphs.values():
        locks = graph.by_type(LOCK)
        assert locks
        assert all(lock.delete_before_replace and lock.protect for lock in locks)
        kept = [*graph.by_type(LAG), *graph.by_type(VAULT), *graph.by_type(KEY)]
        assert kept
        assert not any(r.delete_before_replace for r in kept)


def test_staging_has_its_own_isolated_stack(isolated_graphs: dict[str, StackGraph]) -> None:
    graph = isolated_graphs["isolated-444444444444"]
    assert [r.inputs["name"] for r in graph.by_type(LAG)] == ["dr-staging-333333333333-air-gapped"]
    provider = graph.by_type("pulumi:providers:aws")[0]
    assert json.loads(provider.inputs["allowedAccountIds"]) == ["444444444444"]


def _workload(config: dict[str, Any], index: int = 0) -> dict[str, Any]:
    entry: dict[str, Any] = config[NS + "workloads"][index]
    return entry


def test_locked_vault_only_where_the_config_asks(config_222: dict[str, Any]) -> None:
    _workload(config_222, 1)["lockedVault"] = False
    graph = run_isolated(STACK, config=config_222)
    locked = {r.inputs["name"] for r in graph.by_type(VAULT)}
    assert locked == {"dr-prod-111111111111-locked", "dr-analytics-666666666666-locked"}
    assert "555555555555" not in graph.outputs["lockedVaultArns"]
    assert len(graph.by_type(LOCK)) == 2


def test_invitation_shares_allow_the_external_account_and_leave_accepting_to_it(
    config_222: dict[str, Any],
) -> None:
    _workload(config_222)["airGappedVault"] = {"shareWith": "invitation"}
    graph = run_isolated(STACK, config=config_222)
    assert named(graph, SHARE, "archive-111111111111-share").inputs["allowExternalPrincipals"] is True
    assert named(graph, SHARE, "archive-555555555555-share").inputs["allowExternalPrincipals"] is False
    # Only the workload account's credentials can accept: that stays in its own stack.
    assert graph.by_type(ACCEPTER) == []


def test_a_kept_old_vault_name_is_used(config_222: dict[str, Any]) -> None:
    _workload(config_222)["airGappedVault"] = {"name": "dr-prod-air-gapped"}
    graph = run_isolated(STACK, config=config_222)
    assert named(graph, LAG, "archive-111111111111-vault").inputs["name"] == "dr-prod-air-gapped"


Mutate = Callable[[dict[str, Any]], object]

BAD: list[tuple[str, Mutate, tuple[str, ...]]] = [
    ("account-short", lambda c: c.update({NS + "account": "22222"}), (f"{NS}account = '22222'", "12-digit")),
    ("no-workloads", lambda c: c.update({NS + "workloads": []}), (f"{NS}workloads", "must not be empty")),
    (
        "workload-account-unquoted",
        lambda c: _workload(c).update(account=111111111111),
        (f"{NS}workloads.0.account = 111111111111", "must be a string"),
    ),
    (
        "workload-is-isolated",
        lambda c: _workload(c).update(account="222222222222"),
        ("workloads.0.account (222222222222) is the isolated account itself",),
    ),
    (
        "workload-twice",
        lambda c: _workload(c, 2).update(account="111111111111"),
        ("workloads.2.account (111111111111) is listed twice (also workloads.0)",),
    ),
    (
        "locked-vault-missing",
        lambda c: _workload(c).pop("lockedVault"),
        (f"{NS}workloads.0.lockedVault", "required setting is missing"),
    ),
    (
        "locked-vault-text",
        lambda c: _workload(c).update(lockedVault="yes"),
        (f"{NS}workloads.0.lockedVault = 'yes'", "true or false"),
    ),
    (
        "prefix-bad",
        lambda c: _workload(c).update(prefix="DR_prod"),
        (f"{NS}workloads.0.prefix = 'DR_prod'", "lower-case letters"),
    ),
    (
        "region-typo",
        lambda c: _workload(c).update(region="us-east-9"),
        (f"{NS}workloads.0.region = 'us-east-9'",),
    ),
    (
        "provider-tag",
        lambda c: _workload(c)["tags"].update({"managed-by": "me"}),
        (f"{NS}workloads.0", "tags must not set managed-by"),
    ),
    (
        "retention-range-backwards",
        lambda c: _workload(c).update(airGappedVault={"minRetentionDays": 30, "maxRetentionDays": 10}),
        (f"{NS}workloads.0.airGappedVault", "maxRetentionDays (10) must be at least minRetentionDays (30)"),
    ),
    (
        "vault-name-taken",
        lambda c: _workload(c, 1).update(airGappedVault={"name": "dr-prod-111111111111-air-gapped"}),
        ("workloads.1 names the vault dr-prod-111111111111-air-gapped in us-east-1, as workloads.0",),
    ),
    (
        "unknown-key",
        lambda c: _workload(c).update(sharewith="organization"),
        (f"{NS}workloads.0.sharewith", "unknown setting"),
    ),
]


@pytest.mark.parametrize(("mutate", "expected"), [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_config_is_refused_before_anything_is_registered(
    config_222: dict[str, Any], mutate: Mutate, expected: tuple[str, ...]
) -> None:
    mutate(config_222)
    registered: list[RegisteredResource] = []
    with pytest.raises(ConfigError) as caught:
        run_isolated(STACK, config=config_222, recorder=registered)
    message = str(caught.value)
    assert message.startswith(f"Invalid configuration for stack '{STACK}':")
    for fragment in expected:
        assert fragment in message, message
    assert message.count("\n") == 1, "one message, naming the key"
    assert registered == []
