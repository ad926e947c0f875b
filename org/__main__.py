"""aws-dr-backup-org: validated config in, the organisation's AWS Backup set-up out.

The Pulumi CLI runs this file from ``org/``; the shared code (``components``, ``dr_runtime``) and the
``org`` package itself live one level up, in the repository root.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from org import org_source as source  # the repository root is on the path from here on
from org import org_stack as stack

stack.build(source.load())
