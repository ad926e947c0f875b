"""aws-dr-backup-isolated: validated config in, the isolated account's vaults out.

The Pulumi CLI runs this file from ``isolated/``; the shared code (``components``, ``dr_runtime``) and the
``isolated`` package itself live one level up, in the repository root.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from isolated import isolated_source as source  # the repository root is on the path from here on
from isolated import isolated_stack as stack

stack.build(source.load())
