"""`--policy-config FILE`: the `pulumi preview --policy-pack-config` format, reconciled as the CLI does
(defaults, then `all`, then each policy's entry) against the pack's own schemas from GetAnalyzerInfo."""

from __future__ import annotations

import pytest

from drplan import policy_config
from drplan.policy_client import PolicyPackClient
from drplan.policy_config import PolicyConfigError

ROTATION = "aws-kms-key-rotation"
COMPLETION = "aws-backup-plan-completion-window"
ADVISORY_BY_DEFAULT = "aws-backup-selection-single-condition-block"


@pytest.mark.parametrize("text", ["", "  \n"])
def test_empty_file_is_no_configuration(text: str) -> None:
    assert policy_config.parse(text) == {}


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("[1, 2]", "must be a JSON object keyed by policy name (or 'all'), not list [1, 2]"),
        (
            '{"x": 3}',
            "x = 3: must be an enforcement level (advisory, mandatory, remediate, disabled) or an object",
        ),
        ('{"x": {"enforcementLevel": true}}', "x.enforcementLevel = true: an enforcement level is one of"),
        ("{'x': 1}", "not valid JSON: Expecting property name enclosed in double quotes (line 1, column 2)"),
    ],
)
def test_shape_errors(text: str, problem: str) -> None:
    with pytest.raises(PolicyConfigError) as raised:
        policy_config.parse(text)
    assert str(raised.value).startswith(problem)


def test_reconcile_defaults_then_all_then_the_policy(pack: PolicyPackClient) -> None:
    info = pack.info()
    config = {
        "all": "advisory",
        ROTATION: "disabled",
        COMPLETION: {"completionWindowMinutes": 480, "enforcementLevel": "remediate"},
    }
    reconciled = policy_config.reconcile(info.policies, config)
    assert set(reconciled) == {p.name for p in info.policies}
    assert reconciled[ROTATION].enforcement_level == "disabled"
    assert reconciled[COMPLETION] == policy_config.Reconciled(
        "remediate", {"completionWindowMinutes": 480, "exemptions": []}
    )
    others = {r.enforcement_level for name, r in reconciled.items() if name not in (ROTATION, COMPLETION)}
    assert others == {"advisory"}
    # Every setting the policy declares is sent, with its schema default unless configured.
    dr_opt_out = reconciled["aws-backup-selection-dr-opt-out"].properties
    assert dr_opt_out == {
        "drOptOutTagKey": "exclude-disaster-recovery-backup",
        "optOutTagValue": "true",
        "exemptions": [],
    }


def test_reconcile_without_config_keeps_each_policys_level(pack: PolicyPackClient) -> None:
    info = pack.info()
    reconciled = policy_config.reconcile(info.policies, {})
    assert {n: r.enforcement_level for n, r in reconciled.items()} == {
        p.name: p.enforcement_level for p in info.policies
    }
    assert reconciled[ADVISORY_BY_DEFAULT].enforcement_level == "advisory"
    everything = policy_config.reconcile(info.policies, {"all": {"enforcementLevel": "mandatory"}})
    assert everything[ADVISORY_BY_DEFAULT].enforcement_level == "mandatory"


def test_reconcile_lists_every_problem(pack: PolicyPackClient) -> None:
    config = {
        "aws-kms-key-rotaton": "mandatory",
        COMPLETION: {"completionWindowMinutes": 30, "completionMinutes": 360},
        "aws-backup-vault-policy-copy-sources": {"allowedCopySourceAccounts": ["1111"]},
    }
    with pytest.raises(PolicyConfigError) as raised:
        policy_config.reconcile(pack.info().policies, config)
    assert str(raised.value).splitlines() == [
        "aws-kms-key-rotaton: not a policy of this pack (did you mean 'aws-kms-key-rotation'?)",
        f"{COMPLETION}.completionMinutes = 360: not a setting of this policy; its settings are "
        "completionWindowMinutes, exemptions",
        f"{COMPLETION}.completionWindowMinutes = 30: 30 is less than the minimum of 60",
        "aws-backup-vault-policy-copy-sources.allowedCopySourceAccounts.0 = \"1111\": '1111' does not match "
        "'^[0-9]{12}$'",
    ]
