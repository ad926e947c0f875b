"""The organisation's backup guardrails: the service control policies of org/scp_documents.py, attached to
every configured target (docs/guardrails.md)."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from org import scp_documents

COMPONENT_TYPE = "aws-dr-backup-org:organizations:BackupGuardrails"
SERVICE_CONTROL_POLICY = "SERVICE_CONTROL_POLICY"


@dataclass(frozen=True)
class BackupGuardrailsArgs:
    prefix: str
    """The organisation stack's own prefix: names the policies."""
    scope: scp_documents.GuardrailScope
    targets: tuple[str, ...]
    tags: dict[str, str]


def policy_name(prefix: str, index: int) -> str:
    return f"{prefix}-backup-guardrails-{index + 1}"


class BackupGuardrails(pulumi.ComponentResource):
    """Created with the management account's provider in ``opts``: only it manages an organisation's
    policies (or a delegated administrator for policy management, which this stack does not set up)."""

    policy_ids: list[pulumi.Output[str]]

    def __init__(
        self, name: str, args: BackupGuardrailsArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        policies = scp_documents.policies(args.scope)
        self.policy_ids = []
        for index, policy in enumerate(policies):
            scp = aws.organizations.Policy(
                f"{name}-{index + 1}",
                name=policy_name(args.prefix, index),
                description=(
                    f"AWS Backup guardrails {index + 1}/{len(policies)}: "
                    + ", ".join(statement["Sid"] for statement in policy["Statement"])
                )[:512],
                type=SERVICE_CONTROL_POLICY,
                content=scp_documents.content(policy),
                tags=args.tags,
                opts=pulumi.ResourceOptions(parent=self),
            )
            for target in args.targets:
                aws.organizations.PolicyAttachment(
                    f"{name}-{index + 1}-{target}",
                    policy_id=scp.id,
                    target_id=target,
                    opts=pulumi.ResourceOptions(parent=self),
                )
            self.policy_ids.append(scp.id)
        self.register_outputs({"policyIds": self.policy_ids})
