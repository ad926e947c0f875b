"""The RAM share of the air-gapped vault matches the organisation's RAM set-up (docs/ram-sharing.md).

``organization``: RAM sharing with AWS Organizations is on, so no invitation exists; the share keeps
principals inside the organisation and nothing accepts. ``invitation``: it is off, so RAM treats the
workload account as external; the share must allow external principals and the workload account
accepts the invitation with its own provider.
"""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError
from drplan.graph import RegisteredResource, StackGraph
from drplan.program import register_stack
from tests.program.test_graph import one, provider_name

NS = "aws-dr-backup:"
SHARE = "aws:ram/resourceShare:ResourceShare"
PRINCIPAL = "aws:ram/principalAssociation:PrincipalAssociation"
ACCEPTER = "aws:ram/resourceShareAccepter:ResourceShareAccepter"
# (workload, isolated) in the stack files.
ACCOUNTS = {"prod": ("111111111111", "222222222222"), "staging": ("333333333333", "444444444444")}


def _with_share_mode(config: dict[str, Any], mode: str | None) -> dict[str, Any]:
    vault = dict(config.get(NS + "airGappedVault", {}))
    vault.pop("shareWith", None)
    if mode is not None:
        vault["shareWith"] = mode
    config[NS + "airGappedVault"] = vault
    return config


def _assert_share_reaches_workload(graph: StackGraph) -> RegisteredResource:
    workload, isolated = ACCOUNTS[graph.stack]
    share = one(graph, SHARE, "archive-share")
    assert provider_name(share) == "archive"
    principal = one(graph, PRINCIPAL, "archive-share-workload")
    assert principal.inputs["principal"] == workload
    assert provider_name(principal) == "archive"
    assert graph.outputs["ramShareArn"].startswith(f"arn:aws:ram:us-east-1:{isolated}:resource-share/")
    return share


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_default_is_organization_sharing(stack: str, request: pytest.FixtureRequest) -> None:
    """The real stack files name no mode: both get the organisation set-up AWS RAM documents."""
    graph: StackGraph = request.getfixturevalue(stack)
    share = _assert_share_reaches_workload(graph)
    assert share.inputs["allowExternalPrincipals"] is False
    # With sharing in the organisation enabled RAM sends no invitation, so an accepter could only fail.
    assert graph.by_type(ACCEPTER) == []


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_organization_mode_written_out_is_the_default(stack: str, request: pytest.FixtureRequest) -> None:
    config = _with_share_mode(request.getfixturevalue(f"{stack}_config"), "organization")
    graph = register_stack(stack, config=config)
    assert one(graph, SHARE, "archive-share").inputs["allowExternalPrincipals"] is False
    assert graph.by_type(ACCEPTER) == []


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_invitation_mode_allows_the_external_workload_account_and_accepts(
    stack: str, request: pytest.FixtureRequest
) -> None:
    config = _with_share_mode(request.getfixturevalue(f"{stack}_config"), "invitation")
    graph = register_stack(stack, config=config)
    share = _assert_share_reaches_workload(graph)
    # Without organisation sharing, RAM counts the workload account as external: false would reject it.
    assert share.inputs["allowExternalPrincipals"] is True
    accepter = one(graph, ACCEPTER, "archive-share-accepter")
    # The invitation is addressed to the workload account: only its credentials can accept it.
    assert provider_name(accepter) == "origin"
    assert accepter.inputs["shareArn"] == graph.outputs["ramShareArn"]
    principal = one(graph, PRINCIPAL, "archive-share-workload")
    # Accepting before the principal association exists finds no invitation.
    assert principal.urn in accepter.dependencies


@pytest.mark.parametrize(
    ("mutate", "expected"),
    [
        (
            lambda vault: vault.update(acceptShare=False),
            (
                "aws-dr-backup:airGappedVault",
                "acceptShare (False) is no longer a setting",
                "shareWith: organization",
                "shareWith: invitation",
            ),
        ),
        (
            lambda vault: vault.update(acceptShare=True, shareWith="invitation"),
            ("acceptShare (True) is no longer a setting", "remove acceptShare"),
        ),
        (
            lambda vault: vault.update(shareWith="org"),
            ("aws-dr-backup:airGappedVault.shareWith = 'org'", "'organization' or 'invitation'"),
        ),
    ],
    ids=["accept-share-retired", "accept-share-retired-beside-share-with", "unknown-mode"],
)
def test_bad_share_settings_fail_before_anything_is_registered(
    prod_config: dict[str, Any], mutate: Any, expected: tuple[str, ...]
) -> None:
    mutate(prod_config[NS + "airGappedVault"])
    registered: list[RegisteredResource] = []
    with pytest.raises(ConfigError) as caught:
        register_stack("prod", config=prod_config, recorder=registered)
    message = str(caught.value)
    for fragment in expected:
        assert fragment in message
    assert message.count("\n") == 1, "one message, naming the key"
    assert registered == []
