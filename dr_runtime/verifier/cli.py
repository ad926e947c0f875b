"""``python -m dr_runtime.verifier``: one verifier run from a shell, with the handler's settings as flags.

Without ``--topic-arn`` the findings are listed only; without ``--evidence-bucket`` no evidence or
baseline is kept (the baseline is then the vault listing's own last ``--baseline-days``). ``--dry-run``
reads the stored baselines but writes, publishes and sends nothing.

Exit codes: those of ``dr_runtime.errors``, and 1 also when the run found something (the report and the
JSON summary say what).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import UTC, datetime

from dr_runtime.commands import Parser, run_command
from dr_runtime.errors import EXIT_ITEMS_FAILED, EXIT_OK
from dr_runtime.verifier import event_silence
from dr_runtime.verifier.settings import SETTINGS, VerifierConfig
from dr_runtime.verifier.verify import JOB_NAME, Connect, RunResult, default_connect, finish, run

PROG = "python -m dr_runtime.verifier"


def parser() -> Parser:
    command = Parser(
        prog=PROG,
        description=(
            "Check every workload account's air-gapped copies from outside the account: the vaults in "
            "the isolated account and the organisation's job listings. Exit 1 also when something was found."
        ),
    )
    for setting in (*SETTINGS, *event_silence.SETTINGS):
        setting.add_to(command)
    command.add_argument("--dry-run", action="store_true", help="read only: no evidence, alerts or metrics")
    command.add_argument("--json", action="store_true", help="print JSON")
    return command


def report(result: RunResult) -> str:
    lines = [f"{len(result.verdicts)} account(s) verified, {len(result.findings)} finding(s)"]
    for verdict in result.verdicts:
        kinds = ", ".join(sorted({f.kind.value for f in verdict.findings})) or "ok"
        lines.append(f"  {verdict.account_id}  {kinds}")
        for tier, figures in verdict.tiers.items():
            age = "-" if figures.newest_age_hours is None else f"{figures.newest_age_hours:.1f} h"
            counts = f"{figures.fresh_resources}/{figures.baseline_resources} fresh"
            lines.append(f"    {tier.value:<11} newest {age:>9}  {counts:>14}")
        lines.extend(
            f"      {finding.kind.value}{'' if finding.tier is None else f' ({finding.tier.value})'}: "
            f"{finding.message}"
            for finding in verdict.findings
        )
    return "\n".join(lines)


def _now() -> datetime:
    return datetime.now(UTC)


def main(
    argv: Sequence[str] | None = None,
    connect_to: Connect = default_connect,
    clock: Callable[[], datetime] = _now,
) -> int:
    """Command entry point; ``connect_to`` and ``clock`` let tests hand in their own clients and time."""
    return run_command(JOB_NAME, lambda: _command(argv, connect_to, clock))


def _command(argv: Sequence[str] | None, connect_to: Connect, clock: Callable[[], datetime]) -> int:
    args = parser().parse_args(argv)
    config = VerifierConfig.from_settings(os.environ, args)
    events = event_silence.SilenceConfig.from_settings(os.environ, args)
    if args.dry_run:
        config = replace(config, publish_metrics=False)
    places = connect_to(config)
    result = run(config, places, clock(), dry_run=args.dry_run, events=events)
    print(json.dumps(result.as_dict(), indent=2) if args.json else report(result))
    finish(result, config, places)
    return EXIT_ITEMS_FAILED if result.findings else EXIT_OK
