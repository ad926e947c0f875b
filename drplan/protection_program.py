"""The protection part of the program alone (providers, archive, region settings, every type's plans).

The offline plan runs it, with the stack's config and the other layout, for the storage estimate: the
estimate reads only the plans and selections, which this part registers exactly as the whole program
does (``tests/plan/test_plan_storage.py`` compares the two).
"""

from components import source, stack

stack.protect(source.load())
