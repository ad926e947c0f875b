"""``python -m isolated.matrix``: the isolated stacks as a GitHub Actions matrix, for ``deploy.yml``'s
``isolated`` job (one ``pulumi up`` per isolated account, with that account's own role).

Reads every ``isolated/Pulumi.isolated-<account>.yaml``, validates it as the program would
(:func:`isolated.isolated_config.parse`) and prints ``{"include": [{"stack": ..., "account": ...}]}`` in
stack-name order. Exit codes: 0 printed; 2 a stack file that is invalid, or whose name does not carry its
``account`` (one line naming the file and the key).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path

from components.config import ConfigError, from_namespaced
from dr_runtime.errors import EXIT_OK, EXIT_SETTINGS
from drplan.program import StackFileError, read_stack_file
from isolated import isolated_config

HERE = Path(__file__).resolve().parent
STACK_PREFIX = "isolated-"


def stacks(directory: Path = HERE) -> list[dict[str, str]]:
    """One entry per isolated stack file, or :class:`ConfigError` naming the first bad one."""
    entries = []
    for path in sorted(directory.glob(f"Pulumi.{STACK_PREFIX}*.yaml")):
        stack = path.name.removeprefix("Pulumi.").removesuffix(".yaml")
        try:
            raw = from_namespaced(read_stack_file(path), isolated_config.PROJECT)
        except StackFileError as exc:
            raise ConfigError(str(exc)) from None
        config = isolated_config.parse(raw, stack)
        if stack != f"{STACK_PREFIX}{config.account}":
            raise ConfigError(
                f"{path.name}: account ({config.account}) must be the account the stack is named after "
                f"({stack!r}; expected {STACK_PREFIX}{config.account})"
            )
        entries.append({"stack": stack, "account": config.account})
    if not entries:
        raise ConfigError(f"no isolated stack file (Pulumi.{STACK_PREFIX}<account>.yaml) in {directory}")
    return entries


def main(argv: Sequence[str] | None = None, directory: Path = HERE) -> int:
    if list(argv or []):
        print("error: python -m isolated.matrix takes no arguments", file=sys.stderr)
        return EXIT_SETTINGS
    try:
        print(json.dumps({"include": stacks(directory)}, separators=(",", ":")))
    except ConfigError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_SETTINGS
    return EXIT_OK


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
