"""A generated pack of no-op policies: the cost of the Analyzer protocol and the policy SDK alone.

The policy-pack benchmark divides the real pack's figures by this one's, measured in the same run.
"""

from __future__ import annotations

import tempfile
import textwrap
from pathlib import Path
from typing import Any

from drplan.policy_client import PolicyPackClient


def _write_baseline_pack(directory: Path, resource_policies: int, stack_policies: int) -> None:
    """A pack whose policies do nothing: the cost of the protocol and the SDK alone."""
    (directory / "PulumiPolicy.yaml").write_text("runtime: python\nversion: 0.0.1\n", encoding="utf-8")
    program = textwrap.dedent(
        f"""\
        from pulumi_policy import PolicyPack, ResourceValidationPolicy, StackValidationPolicy


        def _noop(args, report_violation):
            return None


        policies = [ResourceValidationPolicy(name=f"noop-resource-{{i}}", description="does nothing",
                                             validate=_noop) for i in range({resource_policies})]
        policies += [StackValidationPolicy(name=f"noop-stack-{{i}}", description="does nothing",
                                           validate=_noop) for i in range({stack_policies})]
        PolicyPack(name="empty-baseline", policies=policies)
        """
    )
    (directory / "__main__.py").write_text(program, encoding="utf-8")


def baseline_client(
    *, resource_policies: int = 1, stack_policies: int = 1, **kwargs: Any
) -> PolicyPackClient:
    """A client for a fresh no-op pack in a temporary directory, which ``close`` removes."""
    directory = Path(tempfile.mkdtemp(prefix="empty-policy-pack-"))
    _write_baseline_pack(directory, resource_policies, stack_policies)
    return PolicyPackClient(directory, remove_pack_dir=True, **kwargs)
