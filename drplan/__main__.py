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

# What the command exits with when its reader closed the pipe early (``| head``): as if killed by SIGPIPE.
EXIT_READER_GONE = 128 + 13


def _run(arguments: list[str]) -> int:
    try:
        code = fleet.main(arguments) if fleet.requested(arguments) else main(arguments)
        sys.stdout.flush()
    except BrokenPipeError:
        # Nobody reads the rest: send it nowhere instead of printing a traceback about it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_READER_GONE
    return code


def _exit(code: int) -> None:
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    _exit(_run(sys.argv[1:]))
