"""Entry point the Pulumi CLI runs (`python -m pulumi.policy <engine address> <this directory>`).

Kept thin: the rules live in the `dr_policies` package next to this file. It is imported by name at run
time because this directory is the program root the CLI puts on `sys.path`.
"""

import importlib

importlib.import_module("dr_policies").serve()
