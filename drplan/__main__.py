"""``python -m drplan <stack>``: see :mod:`drplan.cli`."""

from drplan.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
