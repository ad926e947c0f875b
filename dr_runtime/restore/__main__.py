import sys

from dr_runtime.restore.cli import main

sys.exit(main())
