"""The policy pack's process, started the way the Pulumi CLI starts a Python pack.

The CLI runs ``python -u -m pulumi.policy <engine address> <pack directory>`` (the
``pulumi-analyzer-policy-python`` shim) with the pack directory as working directory; the pack's
``PolicyPack(...)`` starts a gRPC server on a free port and prints the port on stdout.

Standard library only, so ``python -m drplan`` can start the pack before it imports anything heavy: the
pack then starts on the second core while the plan imports the Pulumi SDKs (``drplan/__main__.py``), and
:class:`drplan.policy_client.PolicyPackClient` adopts the running process.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import IO

DEFAULT_PACK_DIR = Path(__file__).resolve().parent.parent / "policies"

# The engine address is only parsed by the shim: pulumi_policy never dials it (its log calls go to stderr
# without a configured engine), so a placeholder does.
ENGINE_ADDRESS_PLACEHOLDER = "127.0.0.1:0"


@dataclass
class PackProcess:
    """A started pack: its process (stdout carries the port) and the file its stderr goes to."""

    pack_dir: Path
    process: subprocess.Popen[bytes]
    stderr: IO[bytes]

    def stderr_text(self) -> str:
        if self.stderr.closed:
            return ""
        self.stderr.flush()
        self.stderr.seek(0)
        return self.stderr.read().decode(errors="replace")

    def stop(self, timeout: float = 10.0) -> None:
        """Terminate the process (killed if it does not exit within ``timeout``) and close its files.
        Safe to call again."""
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process.stdout is not None:
            self.process.stdout.close()
        self.stderr.close()


def spawn(
    pack_dir: Path | str = DEFAULT_PACK_DIR,
    *,
    python: str = sys.executable,
    env: Mapping[str, str] | None = None,
) -> PackProcess:
    """Start the pack in ``pack_dir`` with ``python`` (the CLI's command line); returns at once."""
    directory = Path(pack_dir).resolve()
    stderr = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the process; closed by stop()
    environment = dict(os.environ if env is None else env)
    environment.setdefault("PYTHONUNBUFFERED", "1")
    process = subprocess.Popen(
        [python, "-u", "-m", "pulumi.policy", ENGINE_ADDRESS_PLACEHOLDER, "."],
        cwd=directory,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=stderr,
        env=environment,
    )
    return PackProcess(directory, process, stderr)
