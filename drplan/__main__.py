"""``python -m drplan <stack>`` (:mod:`drplan.cli`) or ``python -m drplan --all`` (:mod:`drplan.fleet`).

A short-lived command that builds a large object graph once (the Pulumi AWS SDK's classes, every
registration) and keeps nearly all of it to the end. So a single stack's plan runs without the cyclic
garbage collector, whose passes over that graph cost 5 % of the prod plan and a quarter of a plan ten
times its size, for little memory (prod's peak is the same, 120 MB; the ten-times stack's grows from
about 290 to 340 MB); the fleet plan, which plans stack after stack in each worker, collects rarely
instead (``GC_THRESHOLD``). Both skip the interpreter's teardown of that graph at exit; output is flushed
first, and the policy pack's process is already closed by then.

A single stack's plan starts the policy pack's process first of all, before importing the SDKs, so the
pack starts on the other core while this one imports (about a third of a second each); the plan adopts
the running process. Whether the plan will want the pack is read off the raw arguments; a process it
does not adopt (``--help``, a usage error) is stopped before exit.
"""

import gc
import os
import sys

from drplan import FLEET_FLAGS, GC_THRESHOLD, NO_POLICY, pack_process

# What the command exits with when its reader closed the pipe early (``| head``): as if killed by SIGPIPE.
EXIT_READER_GONE = 128 + 13
_HELP = ("-h", "--help")


def _options(arguments: list[str]) -> set[str]:
    return {argument.split("=", 1)[0] for argument in arguments if argument.startswith("-")}


def _fleet(arguments: list[str]) -> bool:
    return not _options(arguments).isdisjoint(FLEET_FLAGS)


def _pack_wanted(arguments: list[str]) -> bool:
    """Whether a single stack's plan will run the policy pack (a guess that errs towards starting it)."""
    return not _fleet(arguments) and _options(arguments).isdisjoint((NO_POLICY, *_HELP))


def _early_pack(arguments: list[str]) -> pack_process.PackProcess | None:
    if not _pack_wanted(arguments):
        return None
    try:
        return pack_process.spawn()
    except OSError:
        return None  # the plan starts the pack itself and reports why it could not


def _run(arguments: list[str]) -> int:
    started = _early_pack(arguments)
    try:
        if _fleet(arguments):
            gc.set_threshold(*GC_THRESHOLD)
            from drplan import fleet

            code = fleet.main(arguments)
        else:
            gc.disable()
            from drplan import cli

            code = cli.main(arguments, started_pack=started)
        sys.stdout.flush()
    except BrokenPipeError:
        # Nobody reads the rest: send it nowhere instead of printing a traceback about it.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_READER_GONE
    finally:
        if started is not None:
            started.stop()  # already stopped when the plan adopted it
    return code


def _exit(code: int) -> None:
    sys.stderr.flush()
    os._exit(code)


if __name__ == "__main__":
    _exit(_run(sys.argv[1:]))
