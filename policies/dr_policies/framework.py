"""The pack's small rule framework on top of CrossGuard.

A rule is declared as a :class:`ResourceRule` (one resource at a time) or a :class:`StackRule`
(the whole stack graph), with a pure ``check`` function that yields :class:`Finding`s from plain
data (:class:`ResourceView` / :class:`StackView`). :func:`to_policy` turns a rule into a CrossGuard
policy and owns everything rules should not repeat: token filtering, config defaults, exemptions,
turning :class:`~.values.UnknownValue` into a "cannot verify" finding, and message formatting
("<resource>: <problem>. Fix: <fix>").
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyResource,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    Severity,
    StackValidationArgs,
    StackValidationPolicy,
)

from . import tokens
from .pack_config import Settings, schema_for
from .values import UnknownValue, as_string_list, get, is_unknown, path_text, plain, unwrap

_ARN_ACCOUNT = re.compile(r"^arn:aws[a-z-]*:iam::(\d{12}):")


@dataclass(frozen=True)
class ProviderView:
    urn: str
    region: str | None
    """``None`` when not set or unknown."""
    accounts: tuple[str, ...]
    """Accounts the provider is pinned to (``allowedAccountIds``) or assumes a role in."""

    @property
    def account(self) -> str | None:
        return self.accounts[0] if len(self.accounts) == 1 else None


NO_PROVIDER = ProviderView(urn="", region=None, accounts=())


def provider_view(urn: str, props: Mapping[str, Any]) -> ProviderView:
    region = props.get("region")
    accounts: list[str] = []
    allowed = props.get("allowedAccountIds")
    if allowed is not None and not is_unknown(allowed):
        accounts.extend(a for a in as_string_list(allowed) if not is_unknown(a))
    if not accounts:
        roles = props.get("assumeRoles", props.get("assumeRole"))
        if roles is not None and not is_unknown(roles):
            import json

            decoded: Any = roles
            if isinstance(roles, str):
                try:
                    decoded = json.loads(roles)
                except ValueError:
                    decoded = []
            for role in decoded if isinstance(decoded, list) else [decoded]:
                arn = role.get("roleArn") if isinstance(role, Mapping) else None
                match = _ARN_ACCOUNT.match(arn) if isinstance(arn, str) else None
                if match:
                    accounts.append(match.group(1))
    return ProviderView(
        urn=urn,
        region=region if isinstance(region, str) and not is_unknown(region) else None,
        accounts=tuple(dict.fromkeys(accounts)),
    )


@dataclass(frozen=True)
class ResourceView:
    """One resource as plain data: inputs keep the engine's camelCase keys and unknown sentinels."""

    type: str
    name: str
    urn: str
    props: dict[str, Any]
    protect: bool = False
    provider: ProviderView = NO_PROVIDER
    parent: str = ""
    dependencies: tuple[str, ...] = ()
    property_dependencies: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    memo: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)
    """Derived data computed once per call and shared by the policies (e.g. a selection's scope)."""

    @property
    def label(self) -> str:
        return f"{tokens.short(self.type)} '{self.name}'"

    def get(self, *path: str | int) -> Any:
        return get(self.props, *path)

    @property
    def region(self) -> str | None:
        """The resource's ``region`` input (pulumi-aws 7 per-resource override) or its provider's region."""
        own = self.props.get("region")
        if isinstance(own, str) and not is_unknown(own):
            return own
        return self.provider.region

    def depends_on(self, prop: str) -> tuple[str, ...]:
        """URNs the given top-level input was computed from (all dependencies if the engine sent none)."""
        if self.property_dependencies:
            return self.property_dependencies.get(prop, ())
        return self.dependencies


@dataclass(frozen=True)
class Finding:
    resource: ResourceView | None
    problem: str
    fix: str
    cannot_verify: bool = False

    def render(self) -> str:
        subject = self.resource.label if self.resource else "stack"
        if self.cannot_verify:
            return f"cannot verify {subject}: {self.problem}. {self.fix}"
        return f"{subject}: {self.problem}. Fix: {self.fix}"


def cannot_verify(resource: ResourceView | None, unknown: UnknownValue | str, consequence: str) -> Finding:
    what = unknown if isinstance(unknown, str) else f"{path_text(unknown.path)} is unknown at preview"
    return Finding(
        resource,
        what,
        f"{consequence} Make the value known at preview (e.g. build it from config values) or run "
        "`pulumi up` with the policy set to advisory for the first deployment; exempt the resource "
        "only if the rule does not apply to it.",
        cannot_verify=True,
    )


ResourceCheck = Callable[[ResourceView, Settings], Iterable[Finding]]
Remediation = Callable[[ResourceView, Settings], dict[str, Any] | None]


@dataclass(frozen=True)
class RuleMeta:
    name: str
    description: str
    remediation_steps: str
    enforcement: EnforcementLevel
    severity: Severity
    config_keys: tuple[str, ...]
    tokens: frozenset[str]
    """Every resource type the rule concerns (the token-coverage test checks this list)."""
    related_tokens: Mapping[str, str]
    """SDK tokens of the same concept deliberately left out, with the reason."""
    concept: str
    """Regular expression over pulumi-aws type tokens: the SDK types this rule is about."""


@dataclass(frozen=True)
class ResourceRule(RuleMeta):
    check: ResourceCheck
    remediate: Remediation | None = None


@dataclass(frozen=True)
class StackView:
    resources: tuple[ResourceView, ...]
    by_urn: Mapping[str, ResourceView]

    @cached_property
    def _by_type(self) -> dict[str, list[ResourceView]]:
        index: dict[str, list[ResourceView]] = {}
        for r in self.resources:
            index.setdefault(r.type, []).append(r)
        return index

    @cached_property
    def _by_name(self) -> dict[str, list[ResourceView]]:
        """Resources by their known ``name`` input (AWS names such as a vault's)."""
        index: dict[str, list[ResourceView]] = {}
        for r in self.resources:
            name = r.props.get("name")
            if isinstance(name, str) and not is_unknown(name):
                index.setdefault(name, []).append(r)
        return index

    def of(self, types: frozenset[str]) -> list[ResourceView]:
        return [r for t in sorted(types) for r in self._by_type.get(t, ())]

    def named(self, name: str, types: frozenset[str]) -> list[ResourceView]:
        return [r for r in self._by_name.get(name, ()) if r.type in types]


StackCheck = Callable[[StackView, Settings], Iterable[Finding]]


@dataclass(frozen=True)
class StackRule(RuleMeta):
    check: StackCheck
    reads: frozenset[str] = frozenset()
    """Further types the rule looks at (besides ``tokens``) to follow references."""


Rule = ResourceRule | StackRule


def _run(
    check: Callable[[], Iterable[Finding]], subject: ResourceView | None, rule_name: str
) -> list[Finding]:
    findings: list[Finding] = []
    try:
        findings.extend(check())
    except UnknownValue as unknown:
        findings.append(cannot_verify(subject, unknown, f"'{rule_name}' needs it to decide."))
    return findings


def _report(
    findings: Iterable[Finding], settings: Settings, report: ReportViolation, default_urn: str
) -> None:
    for finding in findings:
        res = finding.resource
        if res is not None and settings.is_exempt(res.name, res.urn):
            continue
        report(finding.render(), res.urn if res is not None else default_urn or None)


# Per-thread, single-entry caches of the plain-data views of the request being analysed. The pack's
# servicer (servicer.py) hands every policy the same request objects, so unwrapping the properties once
# serves all policies of a call; the identity check keeps a stale entry from ever being used, and each
# gRPC call runs on one thread.
_calls = threading.local()


def _resource_view(args: ResourceValidationArgs) -> ResourceView:
    cached = getattr(_calls, "resource", None)
    if cached is not None and cached[0] is args.props and cached[1].urn == args.urn:
        return cached[1]  # type: ignore[no-any-return]
    view = _view_from_args(args)
    _calls.resource = (args.props, view)
    return view


class _StackViews:
    """The stack's resources grouped by type; each type converted to views once, when a policy first asks."""

    def __init__(self, resources: list[PolicyResource]) -> None:
        self.resources = resources
        self._raw: dict[str, list[PolicyResource]] = {}
        for r in resources:
            self._raw.setdefault(r.resource_type, []).append(r)
        self._views: dict[str, tuple[ResourceView, ...]] = {}
        self._providers: dict[str, ProviderView] = {}

    def of(self, type_: str) -> tuple[ResourceView, ...]:
        if type_ not in self._views:
            self._views[type_] = tuple(
                _view_from_resource(r, self._providers) for r in self._raw.get(type_, ())
            )
        return self._views[type_]

    def has_any(self, types: frozenset[str]) -> bool:
        return any(t in self._raw for t in types)


def _stack_views(resources: list[PolicyResource]) -> _StackViews:
    cached = getattr(_calls, "stack", None)
    if cached is not None and cached.resources is resources:
        return cached  # type: ignore[no-any-return]
    views = _StackViews(resources)
    _calls.stack = views
    return views


def _view_from_args(args: ResourceValidationArgs) -> ResourceView:
    provider = NO_PROVIDER
    if args.provider is not None:
        provider = provider_view(args.provider.urn, unwrap(args.provider.props))
    engine_json = getattr(args, "plain_props", None)  # set by the pack's servicer (servicer.py)
    return ResourceView(
        type=args.resource_type,
        name=args.name,
        urn=args.urn,
        props=plain(engine_json) if engine_json is not None else unwrap(args.props),
        protect=bool(args.opts.protect),
        provider=provider,
        parent=args.opts.parent or "",
    )


def _view_from_resource(res: PolicyResource, providers: dict[str, ProviderView]) -> ResourceView:
    provider = NO_PROVIDER
    if res.provider is not None:
        provider = providers.get(res.provider.urn) or providers.setdefault(
            res.provider.urn, provider_view(res.provider.urn, unwrap(res.provider.props))
        )
    engine_json = getattr(res, "plain_props", None)  # set by the pack's servicer (servicer.py)
    return ResourceView(
        type=res.resource_type,
        name=res.name,
        urn=res.urn,
        props=plain(engine_json) if engine_json is not None else unwrap(res.props),
        protect=bool(res.opts.protect),
        provider=provider,
        parent=res.parent.urn if res.parent is not None else (res.opts.parent or ""),
        dependencies=tuple(d.urn for d in res.dependencies),
        property_dependencies={k: tuple(d.urn for d in v) for k, v in res.property_dependencies.items()},
    )


def to_policy(rule: Rule) -> Policy:
    schema = schema_for(rule.config_keys)
    common: dict[str, Any] = {
        "name": rule.name,
        "description": rule.description,
        "enforcement_level": rule.enforcement,
        "config_schema": schema,
        "severity": rule.severity,
        "remediation_steps": rule.remediation_steps,
        "tags": ["aws-backup", "disaster-recovery"],
    }
    if isinstance(rule, ResourceRule):
        return _resource_policy(rule, common)
    return _stack_policy(rule, common)


def _resource_policy(rule: ResourceRule, common: dict[str, Any]) -> Policy:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        if args.resource_type not in rule.tokens:
            return
        settings = Settings(rule.config_keys, args.get_config())
        if settings.is_exempt(args.name, args.urn):
            return
        view = _resource_view(args)
        _report(_run(lambda: rule.check(view, settings), view, rule.name), settings, report, args.urn)

    if rule.remediate is None:
        return _typed(ResourceValidationPolicy(validate=validate, **common), rule.tokens)
    remediate_fn = rule.remediate

    def remediate(args: ResourceValidationArgs) -> Mapping[str, Any] | None:
        if args.resource_type not in rule.tokens:
            return None
        settings = Settings(rule.config_keys, args.get_config())
        if settings.is_exempt(args.name, args.urn):
            return None
        return remediate_fn(_resource_view(args), settings)

    return _typed(
        ResourceValidationPolicy(validate=validate, remediate=remediate, **common),  # type: ignore[arg-type]
        rule.tokens,
    )


def _typed(policy: ResourceValidationPolicy, types: frozenset[str]) -> ResourceValidationPolicy:
    """Record the resource types the policy checks, so the servicer skips it for other types (it would
    return without a word anyway)."""
    policy.dr_resource_types = types  # type: ignore[attr-defined]
    return policy


def _stack_policy(rule: StackRule, common: dict[str, Any]) -> Policy:
    wanted = sorted(rule.tokens | rule.reads)

    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        all_views = _stack_views(args.resources)
        if not all_views.has_any(rule.tokens):
            return
        settings = Settings(rule.config_keys, args.get_config())
        views = tuple(v for t in wanted for v in all_views.of(t))
        stack = StackView(resources=views, by_urn={v.urn: v for v in views})
        _report(_run(lambda: rule.check(stack, settings), None, rule.name), settings, report, "")

    return StackValidationPolicy(validate=validate, **common)
