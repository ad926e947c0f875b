import sys

from dr_runtime.verifier.cli import main

sys.exit(main())
