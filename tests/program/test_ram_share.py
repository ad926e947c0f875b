"""The workload stack's part of the air-gapped vault's RAM share (docs/ram-sharing.md,
docs/isolated-account.md).

The share itself is the isolated stack's (``isolated/``; its ``allowExternalPrincipals`` per mode:
tests/isolated/test_isolated_program.py). ``organization``: RAM sharing with AWS Organizations is on, no
invitation exists and the workload stack registers nothing for the share. ``invitation``: RAM treats the
workload account as external and sends an invitation addressed to it; the workload stack accepts it with its
own provider, naming the share by ``airGappedVault.shareArn`` (the isolated stack's output ``ramShareArns``).
"""

from __future__ import annotations

from typing import Any

import pytest

from components.config import ConfigError
from drplan.graph import RegisteredResource, StackGraph
from drplan.program import register_stack
from tests.program.test_graph import one, provider_name

NS = "aws-dr-backup:"
ACCEPTER = "aws:ram/resourceShareAccepter:ResourceShareAccepter"
# (workload, isolated) in the stack files.
ACCOUNTS = {"prod": ("111111111111", "222222222222"), "staging": ("333333333333", "444444444444")}


def share_arn(isolated: str, region: str = "us-east-1") -> str:
    return f"arn:aws:ram:{region}:{isolated}:resource-share/0f1e2d3c-4b5a-6978-8a9b-0c1d2e3f4a5b"


def _with_share_mode(config: dict[str, Any], mode: str | None, arn: str | None = None) -> dict[str, Any]:
    vault = dict(config.get(NS + "airGappedVault", {}))
    vault.pop("shareWith", None)
    if mode is not None:
        vault["shareWith"] = mode
    if arn is not None:
        vault["shareArn"] = arn
    config[NS + "airGappedVault"] = vault
    return config


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_default_is_organization_sharing(stack: str, request: pytest.FixtureRequest) -> None:
    """The real stack files name no mode: with sharing in the organisation RAM sends no invitation, so an
    accepter could only fail; nothing of the share is registered here."""
    graph: StackGraph = request.getfixturevalue(stack)
    assert graph.by_type(ACCEPTER) == []
    assert [r for r in graph.resources if r.type.startswith("aws:ram/")] == []


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_organization_mode_written_out_is_the_default(stack: str, request: pytest.FixtureRequest) -> None:
    config = _with_share_mode(request.getfixturevalue(f"{stack}_config"), "organization")
    graph = register_stack(stack, config=config)
    assert [r for r in graph.resources if r.type.startswith("aws:ram/")] == []


@pytest.mark.parametrize("stack", ["prod", "staging"])
def test_invitation_mode_accepts_the_isolated_stacks_share_with_the_workload_credentials(
    stack: str, request: pytest.FixtureRequest
) -> None:
    isolated = ACCOUNTS[stack][1]
    config = _with_share_mode(request.getfixturevalue(f"{stack}_config"), "invitation", share_arn(isolated))
    graph = register_stack(stack, config=config)
    accepter = one(graph, ACCEPTER, "archive-share-accepter")
    # The invitation is addressed to the workload account: only its credentials can accept it.
    assert provider_name(accepter) == "origin"
    assert accepter.inputs["shareArn"] == share_arn(isolated)
    # At the top of the program (the name the migration imports it under, docs/isolated-account.md).
    assert accepter.parent == f"urn:pulumi:{stack}::aws-dr-backup::pulumi:pulumi:Stack::aws-dr-backup-{stack}"
    assert [r.type for r in graph.resources if r.type.startswith("aws:ram/")] == [ACCEPTER]


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
        (
            lambda vault: vault.update(shareWith="invitation"),
            ("airGappedVault.shareArn is missing", "shareWith: invitation", "ramShareArns"),
        ),
        (
            lambda vault: vault.update(shareArn=share_arn("222222222222")),
            (f"airGappedVault.shareArn ({share_arn('222222222222')}) is set", "shareWith: organization"),
        ),
        (
            lambda vault: vault.update(shareWith="invitation", shareArn=share_arn("999999999999")),
            ("must be a share of the isolated account 222222222222 in us-east-1",),
        ),
        (
            lambda vault: vault.update(
                shareWith="invitation", shareArn=share_arn("222222222222", "us-west-2")
            ),
            ("must be a share of the isolated account 222222222222 in us-east-1",),
        ),
        (
            lambda vault: vault.update(shareWith="invitation", shareArn="resource-share/abc"),
            ("aws-dr-backup:airGappedVault.shareArn = 'resource-share/abc'", "a RAM resource share ARN"),
        ),
    ],
    ids=[
        "accept-share-retired",
        "accept-share-retired-beside-share-with",
        "unknown-mode",
        "invitation-without-share-arn",
        "share-arn-without-invitation",
        "share-arn-of-another-account",
        "share-arn-of-another-region",
        "share-arn-malformed",
    ],
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
