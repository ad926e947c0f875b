"""What each stack registers, what an archive holds, and that the Lambda interpreter of the runs sees
nothing but the archive and the SDK (each handler's import from its archive is part of its end-to-end
run, test_runs.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.artefacts.conftest import run_function
from tests.artefacts.functions import STACKS, LambdaFunction, every_function


def test_every_stack_registers_its_jobs() -> None:
    per_stack = {stack: sorted(f.name for f in every_function() if f.stack == stack) for stack in STACKS}
    assert per_stack == {
        "analytics": ["dr-analytics-backup-coverage", "dr-analytics-backup-watchdog"],
        "payments": ["dr-payments-backup-coverage", "dr-payments-backup-watchdog"],
        "prod": [
            "dr-prod-backup-coverage",
            "dr-prod-backup-watchdog",
            "dr-prod-platform-prod-1-memorydb-bridge",
            "dr-prod-platform-prod-1-opensearch-bridge",
        ],
        "staging": [
            "dr-staging-backup-coverage",
            "dr-staging-backup-watchdog",
            "dr-staging-platform-staging-memorydb-bridge",
        ],
    }
    # The organisation stack registers one: the air-gap verifier, in the verifier account (org/verifier_deployment.py).
    others = sorted((f.stack, f.name, f.handler) for f in every_function() if f.stack not in STACKS)
    assert others == [("management", "dr-org-backup-verifier", "dr_runtime.verifier.verify.handler")]


@pytest.mark.parametrize("function", every_function(), ids=lambda f: f.id)
def test_the_archive_holds_source_only(function: LambdaFunction) -> None:
    # That the handler imports from its archive alone is checked by its end-to-end run (test_runs.py),
    # which every registered handler has (test_every_registered_handler_has_an_end_to_end_scenario).
    assert function.handler.rpartition(".")[0].replace(".", "/") + ".py" in function.assets
    assert all(not path.endswith((".pyc", ".md")) and "/tests/" not in f"/{path}" for path in function.assets)


def test_the_lambda_interpreter_cannot_import_the_repository(tmp_path: Path, sdk_dir: Path) -> None:
    # The same interpreter given a handler its archive lacks: it fails with ModuleNotFoundError.
    watchdog = next(f for f in every_function() if f.handler == "dr_runtime.operations.watchdog.handler")
    task = tmp_path / "task"
    for target, source in watchdog.assets.items():
        if target != "dr_model/catalog.py":
            (task / target).parent.mkdir(parents=True, exist_ok=True)
            (task / target).write_bytes(Path(source).read_bytes())
    result = run_function(watchdog, task, sdk_dir)
    assert result.returncode == 1
    assert "ERROR ImportError: cannot import name 'catalog' from 'dr_model'" in result.stderr
