"""``python -m drplan <stack>``: see :mod:`drplan.cli`.

A short-lived command that builds a large object graph once (the Pulumi AWS SDK's classes, every
registration), so, like other Python command-line tools that do so (mypy among them), it collects
cycles rarely while it runs and skips the interpreter's teardown of that graph at exit: together
about a third of the prod plan's wall time (``benchmarks/plan.py``). Output is flushed first, and the
policy pack's process is already closed by then.
"""

import gc
import os
import sys

from drplan import GC_THRESHOLD

# Fewer, later collections of the older generations: nearly everything allocated here lives to the end.
gc.set_threshold(*GC_THRESHOLD)

from drplan import fleet  # noqa: E402 - after the collector is tuned, so the imports benefit too
from drplan.cli import main  # noqa: E402


def _exit(code: int) -> None:
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    arguments = sys.argv[1:]
    _exit(fleet.main(arguments) if fleet.requested(arguments) else main(arguments))
