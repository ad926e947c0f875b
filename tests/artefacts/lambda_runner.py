"""Runs one Lambda handler as the Lambda Python runtime would, inside ``python -I -S``.

Arguments: task root (the unpacked archive), the SDK directory (boto3 and its dependencies only), the
handler (``module.function``), and the event as JSON or ``-`` to import only. Prints ``RESULT <json>``
on success; on failure prints the exception and exits 1.
"""

import importlib
import importlib.util
import json
import sys
import traceback

task_root, sdk, handler, event = sys.argv[1:5]
sys.path[:0] = [task_root, sdk]
# What the function must not see: the repository's other code and the tools' packages.
leaks = [
    n
    for n in ("drplan", "tests", "pulumi", "pulumi_aws", "pydantic", "yaml", "moto")
    if importlib.util.find_spec(n)
]
if leaks:
    print(f"LEAK importable in the Lambda interpreter: {', '.join(leaks)}", file=sys.stderr)
    sys.exit(2)
module_name, _, function_name = handler.rpartition(".")
try:
    function = getattr(importlib.import_module(module_name), function_name)
    result = None if event == "-" else function(json.loads(event), None)
except BaseException as error:
    traceback.print_exc()
    print(f"ERROR {type(error).__name__}: {error}", file=sys.stderr)
    sys.exit(1)
print("RESULT " + json.dumps(result, default=str))
