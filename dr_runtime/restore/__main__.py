import sys

from dr_runtime.restore.recovery_cli import main

sys.exit(main())
