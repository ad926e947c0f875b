"""What the offline plan skips of the Pulumi SDK's work for an engine, because its engine is the mocks.

Each shortcut changes how the SDK reaches the mocked engine, never what it registers: the plan's graphs
are held equal with and without them (``tests/plan/test_plan_monitor.py``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from concurrent import futures
from contextlib import contextmanager
from typing import Any

from pulumi.runtime import resource as pulumi_resource
from pulumi.runtime.proto import source_pb2
from pulumi.runtime.sync_await import _ensure_event_loop


@contextmanager
def without_source_positions() -> Iterator[None]:
    """Skip the SDK's per-registration stack trace, which only feeds the engine's source positions.

    Nothing here records them, and walking the stack (reading each frame's source line) costs about a
    third of a program run under the mocks.
    """
    original = pulumi_resource._get_stack_trace
    pulumi_resource._get_stack_trace = source_pb2.StackTrace
    try:
        yield
    finally:
        pulumi_resource._get_stack_trace = original


class InlineExecutor(futures.ThreadPoolExecutor):
    """Runs each submitted call at once, in the calling thread, and hands back its finished future.

    The SDK sends every registration to the monitor from a worker thread (``run_in_executor``), because a
    real engine answers over gRPC. The recording monitor answers in Python without blocking, so the hop to
    a thread and back (a wake-up of the event loop per resource, and the two threads taking turns at the
    interpreter) is all the thread adds: 8 % of a program run's CPU time here, more of its wall time. The
    calls, their order of submission and their answers are unchanged (``tests/plan/test_plan_monitor.py``).
    """

    def __init__(self) -> None:
        super().__init__(max_workers=1)

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> futures.Future[Any]:
        done: futures.Future[Any] = futures.Future()
        try:
            done.set_result(fn(*args, **kwargs))
        except BaseException as exc:  # handed to the awaiting coroutine, as from a thread
            done.set_exception(exc)
        return done


def sdk_event_loop() -> asyncio.AbstractEventLoop:
    """The event loop the SDK runs a program in (and creates when there is none)."""
    loop: asyncio.AbstractEventLoop = _ensure_event_loop()  # type: ignore[no-untyped-call]
    return loop


@contextmanager
def monitor_calls_inline() -> Iterator[None]:
    """The SDK's event loop with :class:`InlineExecutor` as its default executor, for one program run."""
    loop = sdk_event_loop()
    # ``set_default_executor`` has no getter: the loop's own attribute holds the one to put back.
    previous = getattr(loop, "_default_executor", None)
    loop.set_default_executor(InlineExecutor())
    try:
        yield
    finally:
        setattr(loop, "_default_executor", previous)  # noqa: B010 - no public setter takes None
