"""The organisation's backup guardrails: the service control policies of org/scp_documents.py, attached to
every configured target, the isolated accounts' own policies, and the backup keys' resource control policy
where the organisation uses RCPs (docs/guardrails.md)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from org import scp_documents

COMPONENT_TYPE = "aws-dr-backup-org:organizations:BackupGuardrails"
SERVICE_CONTROL_POLICY = "SERVICE_CONTROL_POLICY"
RESOURCE_CONTROL_POLICY = "RESOURCE_CONTROL_POLICY"
TARGETS, ISOLATED_TARGETS, RCP_TARGETS = "targets", "isolatedTargets", "rcpTargets"


@dataclass(frozen=True)
class BackupGuardrailsArgs:
    prefix: str
    """The organisation stack's own prefix: names the policies."""
    scope: scp_documents.GuardrailScope
    targets: tuple[str, ...]
    tags: dict[str, str]
    isolated_scope: scp_documents.IsolatedScope | None = None
    """The isolated-account statements; None: not built."""
    isolated_targets: tuple[str, ...] = ()
    key_perimeter: scp_documents.KeyPerimeter | None = None
    """The backup keys' RCP; None: not built (the organisation has not enabled RCPs)."""
    rcp_targets: tuple[str, ...] = ()


def policy_name(prefix: str, index: int) -> str:
    return f"{prefix}-backup-guardrails-{index + 1}"


def isolated_policy_name(prefix: str, index: int) -> str:
    return f"{prefix}-isolated-guardrails-{index + 1}"


def key_rcp_name(prefix: str) -> str:
    return f"{prefix}-backup-keys-perimeter"


def named_targets(args: BackupGuardrailsArgs) -> dict[str, list[str]]:
    """Where the config says each group of policies goes: ``targets`` (the backup guardrails),
    ``isolatedTargets`` (the isolated accounts' SCPs) and ``rcpTargets`` (the key RCP, when it is on)."""
    return {
        TARGETS: list(args.targets),
        ISOLATED_TARGETS: list(args.isolated_targets),
        RCP_TARGETS: list(args.rcp_targets) if args.key_perimeter is not None else [],
    }


class BackupGuardrails(pulumi.ComponentResource):
    """Created with the management account's provider in ``opts``: only it manages an organisation's
    policies (or a delegated administrator for policy management, which this stack does not set up)."""

    policy_ids: list[pulumi.Output[str]]

    def __init__(
        self, name: str, args: BackupGuardrailsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        # The targets the organisation's config names, recorded on the component so the policy pack can
        # check every policy is attached to each of them (rule aws-organizations-guardrails-attached).
        super().__init__(COMPONENT_TYPE, name, named_targets(args), opts)
        self.policy_ids = self._attach(
            name, args, scp_documents.policies(args.scope), args.targets, policy_name, "AWS Backup guardrails"
        )
        if args.isolated_scope is not None and args.isolated_targets:
            self.policy_ids += self._attach(
                f"{name}-isolated",
                args,
                scp_documents.isolated_policies(args.isolated_scope),
                args.isolated_targets,
                isolated_policy_name,
                "Isolated-account guardrails",
            )
        if args.key_perimeter is not None and args.rcp_targets:
            rcp = aws.organizations.Policy(
                f"{name}-key-rcp",
                name=key_rcp_name(args.prefix),
                description="AWS Backup keys: no key policy change, disable or deletion from outside the organisation",
                type=RESOURCE_CONTROL_POLICY,
                content=scp_documents.content(scp_documents.key_rcp(args.key_perimeter)),
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for target in args.rcp_targets:
                aws.organizations.PolicyAttachment(
                    f"{name}-key-rcp-{target}",
                    policy_id=rcp.id,
                    target_id=target,
                    opts=pulumi.ResourceOptions(parent=self),
                )
            self.policy_ids.append(rcp.id)
        self.register_outputs({"policyIds": self.policy_ids})

    def _attach(
        self,
        name: str,
        args: BackupGuardrailsArgs,
        policies: tuple[scp_documents.Document, ...],
        targets: tuple[str, ...],
        naming: Callable[[str, int], str],
        title: str,
    ) -> list[pulumi.Output[str]]:
        """One SCP per document, each attached to every target."""
        ids: list[pulumi.Output[str]] = []
        for index, policy in enumerate(policies):
            scp = aws.organizations.Policy(
                f"{name}-{index + 1}",
                name=naming(args.prefix, index),
                description=(
                    f"{title} {index + 1}/{len(policies)}: "
                    + ", ".join(statement["Sid"] for statement in policy["Statement"])
                )[:512],
                type=SERVICE_CONTROL_POLICY,
                content=scp_documents.content(policy),
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for target in targets:
                aws.organizations.PolicyAttachment(
                    f"{name}-{index + 1}-{target}",
                    policy_id=scp.id,
                    target_id=target,
                    opts=pulumi.ResourceOptions(parent=self),
                )
            ids.append(scp.id)
        return ids
