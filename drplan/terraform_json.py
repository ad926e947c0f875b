"""A registered graph (:mod:`drplan.graph`) as Terraform JSON configuration for the Terraform AWS provider.

The Pulumi AWS provider bridges the Terraform AWS provider and runs its schema validators when the engine
checks a resource's inputs, so the same inputs, written as a Terraform configuration, meet the same
validators under ``terraform validate`` and ``terraform plan`` (docs/provider-validation.md).

Everything is mapped through the provider's own schema (the output of ``terraform providers schema
-json``), not a table kept here:

- the resource type from the Pulumi type token: ``aws:backup/restoreTestingSelection:RestoreTestingSelection``
  -> ``aws_backup_restore_testing_selection`` (module, then the resource name in snake case);
- each property by the names the bridge gives a schema name: its camelCase form, and for a repeated block
  or a list the camelCase form of its plural (``rule`` -> ``rules``, ``copy_action`` -> ``copyActions``);
- a block the bridge flattens to one object (at most one item) back into a one-item list;
- a Pulumi archive or asset (a Lambda function's code) as a placeholder file name.

What the schema cannot map is listed in :data:`RENAMES` (the bridge gives the property another name),
:data:`NOT_MAPPED` (no Terraform counterpart) and :data:`NEWER_THAN_MIRROR` (in the 6.x provider that
pulumi-aws bridges, not in the provider the test runs), each with its reason; anything else is reported as
unmapped (:attr:`ModuleConfig.unmapped`).

Values that come from another resource (the inputs' ``property_dependencies``) become Terraform
references to the producing resource's attribute, so they are known or unknown at plan time exactly as
the engine knows them at preview: a name given as an input is known, an ARN AWS assigns is not.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from drplan.graph import UNKNOWN, RegisteredResource, StackGraph

PROVIDER_SOURCE = "registry.terraform.io/hashicorp/aws"
PROVIDER_TYPE = "pulumi:providers:aws"

# The engine's signatures of special values (pulumi/sdk/go/common/resource/properties.go).
_SIG = "4dabf18193072939515e22adb298388d"
_ASSET_SIG = "c44067f5952c0a294b673a41bacd8c17"
_ARCHIVE_SIG = "0def7320c3a5731c473e5ecbe6d01bc7"
_SECRET_SIG = "1b47061264138c4ac30d75fd1eb44270"

RENAMES: dict[tuple[str, str], str] = {
    # pulumi-aws (provider/resources.go) names these Terraform arguments otherwise.
    ("aws_lambda_function", "code"): "filename",  # the archive the function runs, as a Pulumi archive
    ("aws_lambda_function", "name"): "function_name",  # auto-named
    ("aws_cloudwatch_metric_alarm", "name"): "alarm_name",  # auto-named
    ("aws_sns_topic_subscription", "topic"): "topic_arn",
}
"""``(terraform type, Pulumi property)`` -> Terraform argument, where the bridge renamed the argument."""

NOT_MAPPED: dict[tuple[str, str], str] = {}
"""``(Pulumi type token or '*', Pulumi property)`` -> why it has no Terraform counterpart; the converter
leaves it out and reports it (:attr:`ModuleConfig.ignored`)."""

NEWER_THAN_MIRROR: dict[tuple[str, str], str] = {
    ("aws:organizations/awsServiceAccess:AwsServiceAccess", ""): (
        "aws_organizations_aws_service_access is a 6.x resource; provider 5.100.0 has none (trusted access "
        "for a service principal was managed through aws_organizations_organization there)"
    ),
    ("aws:backup/logicallyAirGappedVault:LogicallyAirGappedVault", "encryptionKeyArn"): (
        "a logically air-gapped vault's customer managed key is a 6.x argument (encryption_key_arn)"
    ),
    ("aws:backup/plan:Plan", "rules.targetLogicallyAirGappedBackupVaultArn"): (
        "a rule backing up straight into a logically air-gapped vault is a 6.x argument"
    ),
}
"""``(Pulumi type token, Pulumi property path without list indexes, or '' for the whole resource)`` -> why the
property or resource is
left out: it exists in the 6.x Terraform provider pulumi-aws 7.x bridges but not in the provider the test
runs (docs/provider-validation.md#the-version-gap). A resource's own ``region`` (6.x: each resource may name
its region) is not listed: it moves the resource to a copy of its provider with that region, which is what
the argument means. A test holds every entry to the schema it runs with, so an entry the mirror's provider
has after an upgrade fails instead of hiding the property."""

FAKE_CREDENTIALS: dict[str, Any] = {
    # Terraform plans offline: no credentials, no STS, no instance metadata, no region list.
    "access_key": "mock-access-key",
    "secret_key": "mock-secret-key",
    "skip_credentials_validation": True,
    "skip_requesting_account_id": True,
    "skip_metadata_api_check": "true",
    "skip_region_validation": True,
}
PLAN_ONLY_DROPPED = ("allowed_account_ids", "assume_role")
"""Provider arguments the plan's configuration leaves out: ``assume_role`` makes the provider call STS
while it is configured, and ``allowed_account_ids`` fails a provider that skipped asking STS for its
account ID. ``terraform validate`` checks them (it validates provider configuration without configuring
the provider)."""


def snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def plural(name: str) -> str:
    """The bridge's plural of a snake-case name (its last word), e.g. ``policy`` -> ``policies``."""
    if name.endswith("s"):
        return name
    if re.search(r"[^aeiou]y$", name):
        return name[:-1] + "ies"
    if re.search(r"(x|z|ch|sh)$", name):
        return name + "es"
    return name + "s"


def terraform_type(token: str) -> str:
    """``aws:backup/restoreTestingSelection:RestoreTestingSelection`` -> ``aws_backup_restore_testing_selection``."""
    package, path, _ = token.split(":")
    module, resource = path.split("/")
    return f"{package}_{module}_{snake(resource)}"


@dataclass(frozen=True)
class Finding:
    urn: str
    path: str
    """Pulumi property path (``rules[0].copyActions``); empty for the whole resource."""
    reason: str

    def __str__(self) -> str:
        where = f" {self.path}" if self.path else ""
        return f"{self.urn}{where}: {self.reason}"


@dataclass
class ModuleConfig:
    """One graph's resources as one Terraform module (its providers are passed in by the root)."""

    label: str
    resources: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    providers: dict[str, dict[str, Any]] = field(default_factory=dict)
    """Pulumi provider alias -> provider block (full: as ``terraform validate`` checks it)."""
    addresses: dict[str, str] = field(default_factory=dict)
    """Pulumi URN -> Terraform address inside the module."""
    unmapped: list[Finding] = field(default_factory=list)
    ignored: list[Finding] = field(default_factory=list)

    @property
    def converted(self) -> int:
        return sum(len(names) for names in self.resources.values())

    def document(self) -> dict[str, Any]:
        aliases = [f"aws.{alias}" for alias in sorted(self.providers)]
        return {
            "terraform": {
                "required_providers": {"aws": {"source": PROVIDER_SOURCE, "configuration_aliases": aliases}}
            },
            "resource": self.resources,
        }


class Schema:
    """The provider's schema as ``terraform providers schema -json`` prints it."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        provider = document["provider_schemas"][PROVIDER_SOURCE]
        self.provider: dict[str, Any] = provider["provider"]["block"]
        self.resources: dict[str, Any] = {
            name: entry["block"] for name, entry in provider["resource_schemas"].items()
        }
        self._index: dict[int, dict[str, str]] = {}

    def lookup(self, block: Mapping[str, Any], key: str) -> str | None:
        """The schema name in ``block`` that the bridge calls ``key``."""
        index = self._index.get(id(block))
        if index is None:
            index = {}
            names = [*block.get("attributes", {}), *block.get("block_types", {})]
            for name in names:
                index.setdefault(camel(plural(name)), name)
            for name in names:
                index[camel(name)] = name  # the singular wins where both spell the same
            self._index[id(block)] = index
        return index.get(key)


@dataclass
class _Reference:
    value: str
    expression: str
    substring: bool


class _Converter:
    def __init__(self, graph: StackGraph, schema: Schema, label: str) -> None:
        self.graph, self.schema = graph, schema
        self.by_urn = graph.by_urn()
        self.module = ModuleConfig(label)
        self.aliases: dict[str, str] = {}
        self.used_names: dict[str, set[str]] = {}

    # --- resources ----------------------------------------------------------------------------------

    def run(self) -> ModuleConfig:
        for resource in self.graph.resources:
            if resource.type == PROVIDER_TYPE:
                self.module.providers[self._alias(resource)] = self._provider(resource)
        for resource in self.graph.resources:
            if resource.custom and resource.type != PROVIDER_TYPE:
                self._address(resource)
        for resource in self.graph.resources:
            if resource.custom and resource.type != PROVIDER_TYPE:
                self._resource(resource)
        return self.module

    def _alias(self, provider: RegisteredResource) -> str:
        alias = self.aliases.get(provider.urn)
        if alias is None:
            alias = re.sub(r"[^A-Za-z0-9_]", "_", provider.name)
            self.aliases[provider.urn] = alias
        return alias

    def _address(self, resource: RegisteredResource) -> None:
        if (resource.type, "") in NEWER_THAN_MIRROR:
            return
        tf_type = terraform_type(resource.type)
        if tf_type not in self.schema.resources:
            return
        name = re.sub(r"[^A-Za-z0-9_-]", "_", resource.name)
        if not re.match(r"[A-Za-z_]", name):
            name = f"r_{name}"
        taken = self.used_names.setdefault(tf_type, set())
        base, n = name, 1
        while name in taken:
            n += 1
            name = f"{base}_{n}"
        taken.add(name)
        self.module.addresses[resource.urn] = f"{tf_type}.{name}"

    def _resource(self, resource: RegisteredResource) -> None:
        whole = NEWER_THAN_MIRROR.get((resource.type, ""))
        if whole is not None:
            self.module.ignored.append(Finding(resource.urn, "", whole))
            return
        address = self.module.addresses.get(resource.urn)
        if address is None:
            self.module.unmapped.append(
                Finding(
                    resource.urn, "", f"no resource {terraform_type(resource.type)} in the provider schema"
                )
            )
            return
        tf_type, name = address.split(".")
        block = self.schema.resources[tf_type]
        body: dict[str, Any] = {}
        region = resource.inputs.get("region") if "region" not in block.get("attributes", {}) else None
        for key, value in resource.inputs.items():
            if key == "region" and region is not None:
                continue
            reason = NOT_MAPPED.get((resource.type, key)) or NOT_MAPPED.get(("*", key))
            reason = reason or NEWER_THAN_MIRROR.get((resource.type, key))
            if reason is not None:
                self.module.ignored.append(Finding(resource.urn, key, reason))
                continue
            target = RENAMES.get((tf_type, key)) or self.schema.lookup(block, key)
            if target is None:
                self.module.unmapped.append(
                    Finding(resource.urn, key, f"no argument of {tf_type} is called so")
                )
                continue
            references = list(self._references(resource, key))
            body[target] = self._member(block, target, value, resource, key, references)
        if resource.provider:
            alias = self._alias(self.by_urn[resource.provider_urn])
            if isinstance(region, str) and region != self.module.providers[alias].get("region"):
                regional = f"{alias}_{region.replace('-', '_')}"
                self.module.providers[regional] = {**self.module.providers[alias], "region": region}
                alias = regional
            body["provider"] = f"aws.{alias}"
        else:
            self.module.unmapped.append(Finding(resource.urn, "", "registered with the default provider"))
        self.module.resources.setdefault(tf_type, {})[name] = body

    # --- values -------------------------------------------------------------------------------------

    def _member(
        self,
        block: Mapping[str, Any],
        name: str,
        value: Any,
        resource: RegisteredResource,
        path: str,
        references: Sequence[_Reference],
    ) -> Any:
        attribute = block.get("attributes", {}).get(name)
        if attribute is not None:
            if "nested_type" in attribute:
                nested = attribute["nested_type"]
                return self._nested(nested["nesting_mode"], nested, value, resource, path, references)
            return self._value(attribute["type"], value, resource, path, references)
        nested_block = block["block_types"][name]
        return self._nested(
            nested_block["nesting_mode"], nested_block["block"], value, resource, path, references
        )

    def _nested(
        self,
        mode: str,
        block: Mapping[str, Any],
        value: Any,
        resource: RegisteredResource,
        path: str,
        references: Sequence[_Reference],
    ) -> Any:
        if mode in ("single", "group"):
            return self._block(block, value, resource, path, references)
        if mode == "map":
            return {k: self._block(block, v, resource, f"{path}.{k}", references) for k, v in value.items()}
        # list or set: the bridge gives a block of at most one item as the object itself
        items = value if isinstance(value, list) else [value]
        return [
            self._block(block, item, resource, f"{path}[{i}]", references) for i, item in enumerate(items)
        ]

    def _block(
        self,
        block: Mapping[str, Any],
        value: Any,
        resource: RegisteredResource,
        path: str,
        references: Sequence[_Reference],
    ) -> dict[str, Any]:
        if not isinstance(value, Mapping):
            self.module.unmapped.append(Finding(resource.urn, path, f"expected an object, got {value!r}"))
            return {}
        out: dict[str, Any] = {}
        for key, item in value.items():
            where = f"{path}.{key}"
            reason = NEWER_THAN_MIRROR.get((resource.type, re.sub(r"\[\d+\]", "", where)))
            if reason is not None:
                self.module.ignored.append(Finding(resource.urn, where, reason))
                continue
            target = self.schema.lookup(block, key)
            if target is None:
                self.module.unmapped.append(
                    Finding(resource.urn, f"{path}.{key}", "no such argument in the block")
                )
                continue
            out[target] = self._member(block, target, item, resource, f"{path}.{key}", references)
        return out

    def _value(
        self, kind: Any, value: Any, resource: RegisteredResource, path: str, references: Sequence[_Reference]
    ) -> Any:
        if isinstance(value, Mapping) and value.get(_SIG) == _SECRET_SIG:
            return self._value(kind, value.get("value"), resource, path, references)
        if isinstance(value, Mapping) and value.get(_SIG) in (_ASSET_SIG, _ARCHIVE_SIG):
            # Terraform never reads the file at plan time; the name says what it stands for.
            return f"pulumi-{'archive' if value[_SIG] == _ARCHIVE_SIG else 'asset'}-{resource.name}.zip"
        if isinstance(kind, list):
            container = kind[0]
            if container in ("list", "set") and isinstance(value, list):
                return [
                    self._value(kind[1], v, resource, f"{path}[{i}]", references) for i, v in enumerate(value)
                ]
            if container == "map" and isinstance(value, Mapping):
                return {
                    k: self._value(kind[1], v, resource, f"{path}.{k}", references) for k, v in value.items()
                }
            if container == "object" and isinstance(value, Mapping):
                out = {}
                fields = kind[1]
                for key, item in value.items():
                    target = camel_lookup(fields, key)
                    if target is None:
                        self.module.unmapped.append(
                            Finding(resource.urn, f"{path}.{key}", "no such object field")
                        )
                        continue
                    out[target] = self._value(fields[target], item, resource, f"{path}.{key}", references)
                return out
            self.module.unmapped.append(Finding(resource.urn, path, f"{value!r} does not fit {kind}"))
            return None
        if isinstance(value, str):
            return self._string(value, resource, path, references)
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    def _string(
        self, value: str, resource: RegisteredResource, path: str, references: Sequence[_Reference]
    ) -> str:
        if value == UNKNOWN:
            producers = [ref for ref in references if ref.expression.endswith(".id}")]
            if producers:
                return producers[0].expression
            self.module.unmapped.append(
                Finding(resource.urn, path, "unknown at preview and from no other resource")
            )
            return ""
        for ref in references:
            if value == ref.value:
                return ref.expression
        return "".join(_template_parts(value, [r for r in references if r.substring]))

    def _references(self, resource: RegisteredResource, key: str) -> Iterator[_Reference]:
        """What the value of ``key`` may hold of the resources it depends on, most specific first."""
        found: list[_Reference] = []
        for urn in resource.property_dependencies.get(key, ()):
            producer = self.by_urn.get(urn)
            address = self.module.addresses.get(urn)
            if producer is None or address is None:
                continue
            block = self.schema.resources[address.split(".")[0]]
            attributes = block.get("attributes", {})
            values = {**producer.inputs, **producer.computed}
            for pulumi_key, produced in values.items():
                target = self.schema.lookup(block, pulumi_key)
                if (
                    isinstance(produced, str)
                    and target in attributes
                    and attributes[target]["type"] == "string"
                ):
                    arn = produced.startswith("arn:")
                    found.append(_Reference(produced, f"${{{address}.{target}}}", arn))
            found.append(_Reference(producer.id, f"${{{address}.id}}", False))
        # Longer values first, so an ARN is not cut by a shorter one it contains.
        yield from sorted(found, key=lambda r: -len(r.value))

    # --- providers ----------------------------------------------------------------------------------

    def _provider(self, provider: RegisteredResource) -> dict[str, Any]:
        body: dict[str, Any] = {}
        block = self.schema.provider
        for key, raw in provider.inputs.items():
            target = self.schema.lookup(block, key)
            if target is None:
                self.module.unmapped.append(Finding(provider.urn, key, "no such provider argument"))
                continue
            attribute = block.get("attributes", {}).get(target)
            value = raw
            if isinstance(raw, str) and (attribute is None or attribute["type"] != "string"):
                value = json.loads(raw)  # the engine sends a provider's non-string inputs as JSON text
            body[target] = self._member(block, target, value, provider, key, ())
        return {**body, **FAKE_CREDENTIALS}


def camel_lookup(fields: Mapping[str, Any], key: str) -> str | None:
    for name in fields:
        if camel(name) == key:
            return name
    return None


def _escape(text: str) -> str:
    return text.replace("${", "$${").replace("%{", "%%{")


def _template_parts(value: str, references: Sequence[_Reference]) -> Iterator[str]:
    """``value`` as template text: each whole ARN of a producer as a reference, the rest literal."""
    for ref in references:
        pattern = re.escape(ref.value) + r"(?![A-Za-z0-9_-])"
        match = re.search(pattern, value)
        if match is not None:
            yield from _template_parts(value[: match.start()], references)
            yield ref.expression
            yield from _template_parts(value[match.end() :], references)
            return
    yield _escape(value)


def convert(graph: StackGraph, schema: Schema, label: str) -> ModuleConfig:
    """``graph`` as one module; ``label`` names it (a Terraform identifier)."""
    return _Converter(graph, schema, label).run()


def root_document(modules: Sequence[ModuleConfig], for_plan: bool) -> dict[str, Any]:
    """The root configuration: every module's providers as aliases ``<label>_<alias>``, and the modules.

    ``for_plan`` leaves out :data:`PLAN_ONLY_DROPPED`."""
    providers: list[dict[str, Any]] = []
    calls: dict[str, Any] = {}
    # One provider block per distinct configuration: Terraform starts a provider process per block, and
    # the graphs of one stack (both layouts) or one region of the plan's configuration are alike.
    seen: dict[str, str] = {}
    for module in modules:
        passed = {}
        for alias, body in sorted(module.providers.items()):
            kept = {k: v for k, v in body.items() if not (for_plan and k in PLAN_ONLY_DROPPED)}
            key = json.dumps(kept, sort_keys=True)
            root_alias = seen.get(key)
            if root_alias is None:
                root_alias = seen[key] = f"{module.label}_{alias}"
                providers.append({"aws": {**kept, "alias": root_alias}})
            passed[f"aws.{alias}"] = f"aws.{root_alias}"
        calls[module.label] = {"source": f"./{module.label}", "providers": passed}
    return {
        "terraform": {"required_providers": {"aws": {"source": PROVIDER_SOURCE}}},
        "provider": providers,
        "module": calls,
    }
