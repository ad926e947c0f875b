"""What no single stack's plan can see: checks across every stack of a fleet.

Each stack's plan is reduced to a :class:`StackSummary` (plain, picklable data: the worker processes of
:mod:`drplan.fleet` return it); :func:`check` compares the summaries. Conflicts make the fleet plan exit
1 and name every stack involved; notes are informational.

AWS quotas that bind a fleet sharing one isolated account are in ``docs/aws-facts.md`` section 10
(``#10-quotas``), with their sources; the constants below are those numbers.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.config import StackConfig, air_gapped_share_name
from drplan.matrix import VaultUse

# docs/aws-facts.md#10-quotas, 10.10: vaults of both kinds (backup and logically air-gapped) per account
# and region, adjustable on request; the fleet plan's --vault-quota takes a raised value.
VAULTS_PER_ACCOUNT_REGION = 300
# 10.11: RAM resource shares an account owns (each stack adds one in the isolated account).
RAM_SHARES_PER_ACCOUNT = 5_000
# 10.12: RAM invitations pending at once for an account (only the invitation sharing mode sends them).
RAM_PENDING_INVITATIONS = 20
# A vault count at or above this share of the quota is reported as a note before it becomes a conflict.
QUOTA_WARNING_SHARE = 0.8

CONFLICT = "conflict"
NOTE = "note"

DUPLICATE_WORKLOAD = "duplicate-workload-account"
ISOLATED_IS_WORKLOAD = "isolated-account-is-workload-account"
NAME_CLASH = "isolated-account-name-clash"
VAULT_QUOTA = "isolated-account-vault-quota"
RAM_SHARE_QUOTA = "isolated-account-ram-share-quota"
RAM_INVITATIONS = "ram-pending-invitations"
SHARED_SETTINGS = "differs-from-shared-settings"
VERIFIER_FLEET = "verifier-fleet-differs-from-stacks"
ISOLATED_STACKS = "isolated-stacks-differ-from-stacks"

CHECKS: tuple[tuple[str, str], ...] = (
    (DUPLICATE_WORKLOAD, "every workload account is planned by one stack"),
    (ISOLATED_IS_WORKLOAD, "no isolated account is also a workload account"),
    (NAME_CLASH, "nothing two stacks create in an isolated account has the same name"),
    (VAULT_QUOTA, "vaults per isolated account and region within the quota"),
    (RAM_SHARE_QUOTA, "RAM shares per isolated account within the quota"),
    (VERIFIER_FLEET, "the verifier's fleet (org stack) is the workload stacks' accounts, both ways"),
    (ISOLATED_STACKS, "every stack's vaults are in its isolated account's stack, as it says, and back"),
)

# Kinds of what the isolated stack creates in the isolated account for one workload stack, by the name AWS
# knows it by (a vault policy is addressed by its vault's name).
VAULT_KIND = "backup vault"
VAULT_POLICY_KIND = "backup vault policy"
SHARE_KIND = "RAM resource share"

# Settings a fleet normally shares (project-level config); a production stack that differs is reported
# as a note. Dotted camelCase paths into the validated config; a path covers everything below it.
SHARED_SETTING_PATHS: tuple[str, ...] = (
    "accounts.isolated",
    "regions",
    "layout",
    "schedules",
    "windows",
    "retention",
    "airGappedVault.minRetentionDays",
    "airGappedVault.maxRetentionDays",
    "airGappedVault.shareWith",
    "optOutTags",
    "logRetentionDays",
    "operations.longRunningJobMinutes",
    "operations.coverageSchedule",
    "operations.recentBackupHours",
    "operations.restoreTesting",
    "operations.audit",
)


@dataclass(frozen=True, order=True)
class IsolatedName:
    """Something a stack creates in the isolated account, by the name AWS knows it by."""

    account: str
    region: str
    kind: str
    name: str

    def label(self) -> str:
        return f"{self.kind} '{self.name}' in {self.account} {self.region}"


def isolated_names(config: StackConfig) -> tuple[IsolatedName, ...]:
    """What the isolated stack creates in the isolated account for this workload stack (its vaults are the
    isolated stack's since the split, docs/isolated-account.md), by the names both take from
    ``dr_runtime/vault_names.py``; tests/fleet hold them equal to the isolated stacks' graphs."""
    account, region = config.accounts.isolated, config.regions.primary
    vaults = [config.air_gapped_vault_name]
    if config.locked_vault_arn is not None:
        vaults.append(config.locked_vault_name)
    names = [IsolatedName(account, region, SHARE_KIND, air_gapped_share_name(config.air_gapped_vault_name))]
    for vault in vaults:
        names += [IsolatedName(account, region, kind, vault) for kind in (VAULT_KIND, VAULT_POLICY_KIND)]
    return tuple(sorted(names))


@dataclass(frozen=True)
class StackSummary:
    """One stack's plan, as the fleet table and the cross-stack checks need it."""

    stack: str
    file: str
    code: int
    """The stack's own exit code: 0 ok, 1 mandatory policy violation, 2 invalid, 3 could not run."""
    reason: str
    message: str = ""
    environment: str = ""
    workload_account: str = ""
    isolated_account: str = ""
    prefix: str = ""
    air_gapped_vault: str = ""
    """The name of the stack's air-gapped vault in the isolated account (``airGappedVault.name`` or derived)."""
    layout: str = ""
    dr_region: str = ""
    protected_types: tuple[str, ...] = ()
    unprotected_types: tuple[str, ...] = ()
    retention_days: Mapping[str, tuple[int, ...]] = field(default_factory=dict)
    """Days kept per destination (``inRegion``, ``crossRegion``, ``airGapped``, ``continuous``), over the
    protected types, read from the registered plans."""
    policy_ran: bool = False
    mandatory: tuple[Mapping[str, Any], ...] = ()
    advisory: int = 0
    isolated_names: tuple[IsolatedName, ...] = ()
    isolated_entry: Mapping[str, Any] = field(default_factory=dict)
    """The ``workloads`` entry the isolated account's stack must hold for this stack
    (``isolated.isolated_config.entry_of``), as that file spells it."""
    shares_by_invitation: bool = False
    settings: Mapping[str, Any] = field(default_factory=dict)
    """Values of :data:`SHARED_SETTING_PATHS` (flattened, dotted) from the validated config."""
    notes: tuple[str, ...] = ()
    vault_uses: tuple[tuple[str, VaultUse], ...] = ()
    """(type key, what its untagged resource gets in one vault), from the matrix: the copy jobs and the
    monthly cost of :mod:`drplan.copy_concurrency` and :mod:`drplan.cost`."""
    resources: int = 0
    seconds: float = 0.0

    @property
    def planned(self) -> bool:
        """The program ran: the stack's accounts and names are known."""
        return self.code in (0, 1)

    def to_json(self) -> dict[str, Any]:
        return {
            "stack": self.stack,
            "file": self.file,
            "exit": {"code": self.code, "reason": self.reason, "message": self.message},
            "environment": self.environment,
            "accounts": {"workload": self.workload_account, "isolated": self.isolated_account},
            "prefix": self.prefix,
            "airGappedVault": self.air_gapped_vault,
            "layout": self.layout,
            "protectedTypes": list(self.protected_types),
            "unprotectedTypes": list(self.unprotected_types),
            "retentionDays": {k: list(v) for k, v in self.retention_days.items()},
            "policy": {"ran": self.policy_ran, "mandatory": list(self.mandatory), "advisory": self.advisory},
            "isolatedAccountNames": [
                {"account": n.account, "region": n.region, "kind": n.kind, "name": n.name}
                for n in self.isolated_names
            ],
            "sharesByInvitation": self.shares_by_invitation,
            "notes": list(self.notes),
            "resources": self.resources,
            "seconds": round(self.seconds, 3),
        }


@dataclass(frozen=True)
class Finding:
    check: str
    level: str
    """:data:`CONFLICT` or :data:`NOTE`."""
    stacks: tuple[str, ...]
    message: str

    def to_json(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "level": self.level,
            "stacks": list(self.stacks),
            "message": self.message,
        }


def flatten(values: Mapping[str, Any], paths: Iterable[str] = SHARED_SETTING_PATHS) -> dict[str, Any]:
    """The leaves under ``paths`` of a nested mapping, keyed by dotted path."""
    out: dict[str, Any] = {}

    def walk(prefix: str, value: Any) -> None:
        if isinstance(value, Mapping) and value:
            for key in sorted(value):
                walk(f"{prefix}.{key}", value[key])
        else:
            out[prefix] = value

    for path in paths:
        value: Any = values
        for part in path.split("."):
            value = value.get(part) if isinstance(value, Mapping) else None
        if value is not None:
            walk(path, value)
    return out


def _names(stacks: Iterable[str]) -> str:
    return ", ".join(stacks)


FEW = 5
"""Stacks a finding over many stacks names before it says how many more (the full list is in --json)."""


def few(stacks: Sequence[str], limit: int = FEW) -> str:
    """The first few names and how many more: a readable line for a finding over many stacks."""
    names = ", ".join(stacks[:limit])
    return names if len(stacks) <= limit else f"{names} and {len(stacks) - limit} more"


def _duplicate_workload(planned: Sequence[StackSummary]) -> list[Finding]:
    by_account: dict[str, list[str]] = defaultdict(list)
    for s in planned:
        by_account[s.workload_account].append(s.stack)
    return [
        Finding(
            DUPLICATE_WORKLOAD,
            CONFLICT,
            tuple(stacks),
            f"workload account {account} is planned by {len(stacks)} stacks ({_names(stacks)}): each would "
            "own the account's region settings and vaults; keep one stack per workload account",
        )
        for account, stacks in sorted(by_account.items())
        if len(stacks) > 1
    ]


def _isolated_is_workload(planned: Sequence[StackSummary]) -> list[Finding]:
    workloads: dict[str, list[str]] = defaultdict(list)
    for s in planned:
        workloads[s.workload_account].append(s.stack)
    findings = []
    for s in planned:
        for other in workloads.get(s.isolated_account, []):
            findings.append(
                Finding(
                    ISOLATED_IS_WORKLOAD,
                    CONFLICT,
                    (s.stack, other),
                    f"{s.stack} copies into isolated account {s.isolated_account}, which is the workload "
                    f"account of {other}: a compromise of {other}'s account would reach {s.stack}'s "
                    "air-gapped copies; give the fleet an isolated account that runs no workload",
                )
            )
    return findings


def _name_clashes(planned: Sequence[StackSummary]) -> list[Finding]:
    owners: dict[IsolatedName, list[str]] = defaultdict(list)
    for s in planned:
        for name in dict.fromkeys(s.isolated_names):
            owners[name].append(s.stack)
    return [
        Finding(
            NAME_CLASH,
            CONFLICT,
            tuple(stacks),
            f"{name.label()} is created by {len(stacks)} stacks ({_names(stacks)}): the second deployment "
            "would fail or take over the first one's; names in the isolated account must carry the "
            "workload account (see airGappedVault.name in README 'Many accounts')",
        )
        for name, stacks in sorted(owners.items())
        if len(stacks) > 1
    ]


def _per_account_region(
    planned: Sequence[StackSummary], kind: str, by_region: bool = True
) -> dict[tuple[str, str], dict[str, int]]:
    counts: dict[tuple[str, str], dict[str, int]] = defaultdict(dict)
    for s in planned:
        for name in dict.fromkeys(s.isolated_names):
            if name.kind == kind:
                where = (name.account, name.region if by_region else "")
                counts[where][s.stack] = counts[where].get(s.stack, 0) + 1
    return counts


def _vault_quota(planned: Sequence[StackSummary], quota: int) -> list[Finding]:
    findings = []
    for (account, region), stacks in sorted(_per_account_region(planned, VAULT_KIND).items()):
        total = sum(stacks.values())
        if total > quota:
            findings.append(
                Finding(
                    VAULT_QUOTA,
                    CONFLICT,
                    tuple(sorted(stacks)),
                    f"the fleet creates {total} vaults in isolated account {account} {region} "
                    f"({len(stacks)} stacks: {few(sorted(stacks))}), above the "
                    f"quota of {quota} vaults per account and region (backup and logically air-gapped "
                    "together): request an increase (then pass --vault-quota) or use a second isolated "
                    "account for some stacks",
                )
            )
        elif total >= quota * QUOTA_WARNING_SHARE:
            findings.append(
                Finding(
                    VAULT_QUOTA,
                    NOTE,
                    tuple(sorted(stacks)),
                    f"the fleet creates {total} of the {quota} vaults allowed in isolated account {account} "
                    f"{region} ({len(stacks)} stacks: {few(sorted(stacks))}); vaults created there outside "
                    "this fleet count too",
                )
            )
    return findings


def _ram_quotas(planned: Sequence[StackSummary], quota: int = RAM_SHARES_PER_ACCOUNT) -> list[Finding]:
    findings = []
    for (account, _), stacks in sorted(_per_account_region(planned, SHARE_KIND, by_region=False).items()):
        total = sum(stacks.values())
        if total > quota:
            findings.append(
                Finding(
                    RAM_SHARE_QUOTA,
                    CONFLICT,
                    tuple(sorted(stacks)),
                    f"the fleet creates {total} RAM resource shares in isolated account {account} "
                    f"({len(stacks)} stacks: {few(sorted(stacks))}), above the "
                    f"quota of {quota}: request an increase (then pass --ram-share-quota) or use a second "
                    "isolated account for some stacks",
                )
            )
        elif total >= quota * QUOTA_WARNING_SHARE:
            findings.append(
                Finding(
                    RAM_SHARE_QUOTA,
                    NOTE,
                    tuple(sorted(stacks)),
                    f"the fleet creates {total} of the {quota} RAM resource shares allowed in isolated "
                    f"account {account} ({len(stacks)} stacks: {few(sorted(stacks))}); shares created there "
                    "outside this fleet count too",
                )
            )
    by_isolated: dict[str, list[str]] = defaultdict(list)
    for s in planned:
        if s.shares_by_invitation:
            by_isolated[s.isolated_account].append(s.stack)
    for account, inviting in sorted(by_isolated.items()):
        if len(inviting) > RAM_PENDING_INVITATIONS:
            findings.append(
                Finding(
                    RAM_INVITATIONS,
                    NOTE,
                    tuple(inviting),
                    f"{len(inviting)} stacks share their vault from {account} by invitation "
                    f"({few(sorted(inviting))}): at most "
                    f"{RAM_PENDING_INVITATIONS} RAM invitations may be pending at once, so deploy at most "
                    f"{RAM_PENDING_INVITATIONS} of them at a time (each accepts its own) or use "
                    "airGappedVault.shareWith: organization",
                )
            )
    return findings


def shared_values(
    planned: Sequence[StackSummary], project: Mapping[str, Any] | None = None
) -> dict[str, tuple[Any, str]]:
    """The fleet's shared value of each setting and where it comes from: the project-level config
    (``project``, flattened like :attr:`StackSummary.settings`) where it sets the key, else the value most
    production stacks have (the first stack's on a tie)."""
    production = [s for s in planned if s.environment == "production"]
    keys = sorted({k for s in production for k in s.settings} | set(project or {}))
    shared: dict[str, tuple[Any, str]] = {}
    for key in keys:
        if project and key in project:
            shared[key] = (project[key], "Pulumi.yaml")
            continue
        values = [repr(s.settings.get(key)) for s in production]
        if values:
            most, _ = Counter(values).most_common(1)[0]
            holder = next(s for s in production if repr(s.settings.get(key)) == most)
            shared[key] = (holder.settings.get(key), "most production stacks")
    return shared


def _shared_settings(planned: Sequence[StackSummary], project: Mapping[str, Any] | None) -> list[Finding]:
    shared = shared_values(planned, project)
    findings = []
    for s in planned:
        if s.environment != "production":
            continue
        differs = [
            f"{key} = {s.settings.get(key)!r} (fleet: {value!r}, from {source})"
            for key, (value, source) in shared.items()
            if s.settings.get(key) != value
        ]
        if differs:
            findings.append(
                Finding(
                    SHARED_SETTINGS,
                    NOTE,
                    (s.stack,),
                    f"{s.stack} differs from the fleet's shared settings: " + "; ".join(differs),
                )
            )
    return findings


@dataclass(frozen=True)
class VerifierFleet:
    """What the organisation stack's ``verifier`` section says of the workload accounts it verifies."""

    file: str
    """The org stack file it comes from, as shown in messages."""
    vaults: Mapping[str, tuple[str, str]]
    """Each verified workload account -> (its isolated account, the name of its air-gapped vault there),
    as the verifier derives them (``verifier.fleet``, ``verifier.vaultNames``)."""
    prefixes: Mapping[str, str]
    """Each verified workload account -> the stack prefix ``verifier.fleet`` gives it."""
    unverified: Mapping[str, str] = field(default_factory=dict)
    """``verifier.unverified``: workload account -> the reason it is left out."""


def verifier_fleet(planned: Sequence[StackSummary], verifier: VerifierFleet) -> list[Finding]:
    """The verifier reads exactly the stacks' vaults: every stack's account is verified (or left out with
    a reason), every verified account is a stack's, with the stack's prefix, isolated account and vault."""
    where = f"{verifier.file} verifier"
    by_account: dict[str, list[StackSummary]] = defaultdict(list)
    for s in planned:
        by_account[s.workload_account].append(s)
    findings = []

    def differs(stacks: Iterable[str], message: str) -> None:
        findings.append(Finding(VERIFIER_FLEET, CONFLICT, tuple(stacks), message))

    for account, stacks in sorted(by_account.items()):
        names = [s.stack for s in stacks]
        if account not in verifier.vaults and account not in verifier.unverified:
            differs(
                names,
                f"{_names(names)} (workload account {account}) is not verified: {where}.fleet lacks "
                f"{account}; add <account>=<prefix>, or list it under verifier.unverified with the reason",
            )
        for s in stacks:
            if account not in verifier.vaults:
                continue
            isolated, vault = verifier.vaults[account]
            prefix = verifier.prefixes[account]
            for what, fleet_value, stack_value in (
                ("prefix", prefix, s.prefix),
                ("isolated account", isolated, s.isolated_account),
                ("air-gapped vault", vault, s.air_gapped_vault),
            ):
                if fleet_value != stack_value:
                    differs(
                        (s.stack,),
                        f"{where}.fleet reads {account} with {what} {fleet_value!r}, but {s.stack} has "
                        f"{stack_value!r}: the verifier would find no vault and alert; make them agree",
                    )
    for account in sorted(verifier.vaults):
        if account not in by_account:
            differs(
                (),
                f"{where}.fleet lists {account}, which no workload stack plans: remove it, or add the "
                "stack (a fleet entry without a stack alerts no-vault on every run)",
            )
    for account, reason in sorted(verifier.unverified.items()):
        if account in verifier.vaults:
            continue
        if account not in by_account:
            differs((), f"{where}.unverified lists {account}, which no workload stack plans: remove it")
            continue
        names = [s.stack for s in by_account[account]]
        findings.append(
            Finding(
                VERIFIER_FLEET,
                NOTE,
                tuple(names),
                f"{_names(names)} (workload account {account}) is not verified from outside, as "
                f"{where}.unverified says: {reason}",
            )
        )
    return findings


@dataclass(frozen=True)
class IsolatedStack:
    """One isolated account's stack (``isolated/Pulumi.isolated-<account>.yaml``), as validated."""

    file: str
    account: str
    entries: Mapping[str, Mapping[str, Any]]
    """Workload account -> its ``workloads`` entry, as the file spells it (defaults filled in)."""


def _differences(given: Mapping[str, Any], wanted: Mapping[str, Any], path: str = "") -> list[str]:
    keys = sorted(set(given) | set(wanted))
    out = []
    for key in keys:
        a, b = given.get(key), wanted.get(key)
        if isinstance(a, Mapping) and isinstance(b, Mapping) and key != "tags":
            out += _differences(a, b, f"{path}{key}.")
        elif a != b:
            out.append(f"{path}{key} is {json.dumps(a)} there, {json.dumps(b)} in the stack")
    return out


def isolated_stacks(planned: Sequence[StackSummary], isolated: Sequence[IsolatedStack]) -> list[Finding]:
    """Every workload stack's air-gapped (and locked) vault is kept by its isolated account's stack, with the
    stack's own names, region, tags and retention (the workload stacks no longer register them,
    docs/isolated-account.md), and every entry there is a planned stack's."""
    by_account = {i.account: i for i in isolated}
    findings = []

    def conflict(stacks: tuple[str, ...], message: str) -> None:
        findings.append(Finding(ISOLATED_STACKS, CONFLICT, stacks, message))

    copying: dict[tuple[str, str], list[str]] = defaultdict(list)
    for s in planned:
        copying[(s.isolated_account, s.workload_account)].append(s.stack)
        home = by_account.get(s.isolated_account)
        if home is None:
            conflict(
                (s.stack,),
                f"{s.stack} copies into isolated account {s.isolated_account}, whose stack is missing: add "
                f"isolated/Pulumi.isolated-{s.isolated_account}.yaml with an entry for {s.workload_account} "
                "(docs/isolated-account.md); until it is deployed the copy jobs have no vault",
            )
            continue
        entry = home.entries.get(s.workload_account)
        if entry is None:
            conflict(
                (s.stack,),
                f"{home.file} has no workloads entry for {s.workload_account} ({s.stack}): add "
                f"{json.dumps(dict(s.isolated_entry))}; until it is deployed the copy jobs have no vault",
            )
            continue
        for difference in _differences(entry, s.isolated_entry):
            conflict(
                (s.stack,),
                f"{home.file} workloads entry {s.workload_account}: {difference} ({s.stack}); make them "
                "agree, or the vault the stack copies into is not the one the isolated stack keeps",
            )
    for home in isolated:
        for account in sorted(home.entries):
            if (home.account, account) in copying:
                continue
            # Not a conflict: the entry keeps a locked vault whose recovery points outlive the stack.
            findings.append(
                Finding(
                    ISOLATED_STACKS,
                    NOTE,
                    (),
                    f"{home.file} keeps the vaults of {account}, which no workload stack copies into: "
                    "they stay (protected, locked); remove the entry only after its recovery points have "
                    "expired (docs/isolated-account.md, Retiring an account)",
                )
            )
    return findings


def check(
    summaries: Sequence[StackSummary],
    *,
    vault_quota: int = VAULTS_PER_ACCOUNT_REGION,
    project: Mapping[str, Any] | None = None,
    ram_share_quota: int = RAM_SHARES_PER_ACCOUNT,
    verifiers: Sequence[VerifierFleet] = (),
    isolated: Sequence[IsolatedStack] | None = None,
) -> list[Finding]:
    """Every cross-stack finding over the stacks whose program ran (invalid stacks are reported apart);
    ``verifiers``: each organisation stack's verifier fleet, compared with the stacks; ``isolated``: the
    isolated accounts' stacks (``None``: the project has none to compare, e.g. a fleet outside the repo)."""
    planned = [s for s in summaries if s.planned]
    return [
        *_duplicate_workload(planned),
        *_isolated_is_workload(planned),
        *_name_clashes(planned),
        *_vault_quota(planned, vault_quota),
        *_ram_quotas(planned, ram_share_quota),
        *_shared_settings(planned, project),
        *(finding for verifier in verifiers for finding in verifier_fleet(planned, verifier)),
        *(isolated_stacks(planned, isolated) if isolated is not None else ()),
    ]
