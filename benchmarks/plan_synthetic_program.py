"""A synthetic program for ``benchmarks/plan.py``: the real stack built ten times in one program.

Each copy gets its own prefix and its resources their own names (``r<i>-``), so the graph has ten times
the resources with distinct URNs, as the engine would require. Run only through ``python -m drplan
--program``; never deployed.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components import source, stack

COPIES = 10

_original_init = pulumi.Resource.__init__
_current = {"prefix": ""}


def _renamed_init(self: pulumi.Resource, t: str, name: str, *args: Any, **kwargs: Any) -> None:
    _original_init(self, t, f"{_current['prefix']}{name}", *args, **kwargs)


pulumi.Resource.__init__ = _renamed_init  # type: ignore[method-assign]
config = source.load()
for index in range(COPIES):
    _current["prefix"] = f"r{index}-"
    stack.build(config.model_copy(update={"prefix": f"{config.prefix[:16]}-r{index}"}))
