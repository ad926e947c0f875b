"""Lookups into a recorded graph shared by the operations tests."""

from __future__ import annotations

import json
from typing import Any

from drplan.graph import RegisteredResource, StackGraph

WORKLOAD, ISOLATED = "111111111111", "222222222222"
PRIMARY, DR = "us-east-1", "us-east-2"
PROVIDERS = {PRIMARY: "origin", DR: "cross-region"}
PROD_TYPES = ("S3", "EBS", "EFS", "DynamoDB", "RDS", "Aurora", "DocumentDB", "Neptune")
PROD_KEYS = ("s3", "ebs", "efs", "dynamodb", "rds", "aurora", "documentdb", "neptune")
RULE = "aws:cloudwatch/eventRule:EventRule"
TARGET = "aws:cloudwatch/eventTarget:EventTarget"
KEY = "aws:kms/key:Key"
VAULT = "aws:backup/vault:Vault"


def provider_name(resource: RegisteredResource) -> str:
    return resource.provider_urn.rsplit("::", 1)[-1]


def one(graph: StackGraph, type_token: str, **inputs: Any) -> RegisteredResource:
    found = [r for r in graph.by_type(type_token) if all(r.inputs.get(k) == v for k, v in inputs.items())]
    assert len(found) == 1, f"{type_token} {inputs}: {len(found)} registered"
    return found[0]


def in_region(graph: StackGraph, type_token: str, region: str) -> list[RegisteredResource]:
    return [r for r in graph.by_type(type_token) if provider_name(r) == PROVIDERS[region]]


def rule(graph: StackGraph, name: str, region: str) -> RegisteredResource:
    found = [r for r in in_region(graph, RULE, region) if r.inputs["name"] == name]
    assert len(found) == 1, f"rule {name} in {region}: {len(found)}"
    return found[0]


def pattern(resource: RegisteredResource) -> dict[str, Any]:
    return dict(json.loads(resource.inputs["eventPattern"]))


def targets_of(graph: StackGraph, rule_name: str, region: str) -> list[RegisteredResource]:
    return [t for t in in_region(graph, TARGET, region) if t.inputs["rule"] == rule_name]


def statements(document: str) -> list[dict[str, Any]]:
    return list(json.loads(document)["Statement"])


def vault_key_arns(graph: StackGraph, region: str) -> list[str]:
    """The keys of the backup vaults in ``region``, as the vaults name them."""
    return sorted(str(v.inputs["kmsKeyArn"]) for v in in_region(graph, VAULT, region))
