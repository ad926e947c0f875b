"""Terraform and the AWS provider's filesystem mirror, found at run time and run offline in a temporary directory.

Nothing here names a path of one machine: ``DR_TERRAFORM`` / ``DR_TERRAFORM_PLUGIN_DIR`` override, then
``terraform`` on ``PATH`` and the usual plugin directories, then a search of ``/``. ``terraform init`` reads
the mirror in place (``-plugin-dir``: no registry, no network, nothing copied), every working directory and
the CLI config live under the test's temporary directory, and the provider gets fake credentials with
every check that would call AWS switched off (:data:`drplan.terraform_json.FAKE_CREDENTIALS`).
"""

from __future__ import annotations

import json
import os
import platform
import shutil
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

TERRAFORM_ENV = "DR_TERRAFORM"
PLUGIN_DIR_ENV = "DR_TERRAFORM_PLUGIN_DIR"
_PROVIDER = Path("registry.terraform.io", "hashicorp", "aws")
_SKIPPED_ROOTS = frozenset({"/proc", "/sys", "/dev", "/run", "/tmp", "/var/tmp", "/var/lib/docker"})


class ToolMissingError(Exception):
    """A tool the provider test needs is not on this machine; the message is one line saying which."""


def _platform() -> str:
    machine = platform.machine().lower()
    arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
    return f"{platform.system().lower()}_{arch}"


def terraform() -> str:
    override = os.environ.get(TERRAFORM_ENV)
    found = override if override and Path(override).is_file() else shutil.which("terraform")
    if not found:
        where = (
            f"{TERRAFORM_ENV}={override} is no file" if override else f"not on PATH and {TERRAFORM_ENV} unset"
        )
        raise ToolMissingError(
            f"terraform is missing ({where}): tests/provider runs terraform validate and plan"
        )
    return found


def holds_aws(root: Path) -> bool:
    """``root`` is a filesystem mirror with the AWS provider for this platform."""
    return any((root / _PROVIDER).glob(f"*/{_platform()}/terraform-provider-aws_*"))


def _usual_plugin_dirs() -> Iterator[Path]:
    home = Path.home()
    yield home / ".terraform.d" / "plugins"
    yield Path(os.environ.get("XDG_DATA_HOME", home / ".local" / "share")) / "terraform" / "plugins"
    for data in os.environ.get("XDG_DATA_DIRS", "/usr/local/share:/usr/share").split(":"):
        if data:
            yield Path(data) / "terraform" / "plugins"


def _search(top: str) -> Path | None:
    """The first directory under ``top`` that is a mirror with the AWS provider (not following links)."""
    stack = [top]
    while stack:
        directory = stack.pop()
        try:
            entries = list(os.scandir(directory))
        except OSError:
            continue
        for entry in entries:
            if not entry.is_dir(follow_symlinks=False) or entry.path in _SKIPPED_ROOTS:
                continue
            if entry.name == "registry.terraform.io" and holds_aws(Path(directory)):
                return Path(directory)
            if entry.name not in (".git", "node_modules", "site-packages", "__pycache__"):
                stack.append(entry.path)
    return None


def plugin_dir() -> Path:
    override = os.environ.get(PLUGIN_DIR_ENV)
    if override:
        if holds_aws(Path(override)):
            return Path(override)
        raise ToolMissingError(
            f"{PLUGIN_DIR_ENV}={override} holds no hashicorp/aws provider for {_platform()}"
        )
    for candidate in _usual_plugin_dirs():
        if holds_aws(candidate):
            return candidate
    found = _search("/")
    if found is None:
        raise ToolMissingError(
            f"no filesystem mirror of the hashicorp/aws Terraform provider for {_platform()} "
            f"(set {PLUGIN_DIR_ENV}, or put one in ~/.terraform.d/plugins)"
        )
    return found


@dataclass
class Diagnostic:
    severity: str
    summary: str
    detail: str
    address: str

    def __str__(self) -> str:
        return f"{self.address or '(configuration)'}: {self.summary}: {self.detail}"


class Workspace:
    """One Terraform working directory under ``root``, initialised from the mirror only."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.binary = terraform()
        self.mirror = plugin_dir()
        root.mkdir(parents=True, exist_ok=True)
        cli_config = root / "terraformrc"
        cli_config.write_text("disable_checkpoint = true\n")
        # Only what Terraform needs: no credentials, profiles or plugin cache of the machine leak in.
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "HOME": str(root),
            "TF_CLI_CONFIG_FILE": str(cli_config),
            "TF_IN_AUTOMATION": "1",
            "TF_INPUT": "0",
            "CHECKPOINT_DISABLE": "1",
            "AWS_CONFIG_FILE": str(root / "aws-config-none"),
            "AWS_SHARED_CREDENTIALS_FILE": str(root / "aws-credentials-none"),
            "AWS_EC2_METADATA_DISABLED": "true",
        }

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.binary, *args], cwd=self.root, env=self.env, capture_output=True, text=True, check=False
        )

    def write(self, relative: str, document: dict[str, Any]) -> None:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(document, indent=1))

    def init(self) -> None:
        done = self.run("init", "-backend=false", f"-plugin-dir={self.mirror}", "-input=false", "-no-color")
        if done.returncode != 0:
            raise RuntimeError(f"terraform init failed:\n{done.stderr or done.stdout}")

    def schema(self) -> dict[str, Any]:
        done = self.run("providers", "schema", "-json")
        if done.returncode != 0:
            raise RuntimeError(f"terraform providers schema failed:\n{done.stderr}")
        document: dict[str, Any] = json.loads(done.stdout)
        return document

    def version(self) -> dict[str, Any]:
        version: dict[str, Any] = json.loads(self.run("version", "-json").stdout)
        return version

    def validate(self) -> list[Diagnostic]:
        done = self.run("validate", "-json", "-no-color")
        return [_diagnostic(d) for d in json.loads(done.stdout)["diagnostics"]]

    def plan(self) -> tuple[list[Diagnostic], dict[str, int]]:
        """Diagnostics and the change summary of ``terraform plan -refresh=false`` (no state: all creates)."""
        done = self.run("plan", "-refresh=false", "-input=false", "-lock=false", "-no-color", "-json")
        diagnostics, summary = [], {}
        for line in done.stdout.splitlines():
            message = json.loads(line)
            if message.get("type") == "diagnostic":
                diagnostics.append(_diagnostic(message["diagnostic"]))
            elif message.get("type") == "change_summary":
                summary = message["changes"]
        if done.returncode != 0 and not diagnostics:
            diagnostics.append(Diagnostic("error", "terraform plan failed", done.stderr.strip(), ""))
        return diagnostics, summary


def _diagnostic(raw: dict[str, Any]) -> Diagnostic:
    return Diagnostic(raw["severity"], raw["summary"], raw.get("detail", ""), raw.get("address", ""))
