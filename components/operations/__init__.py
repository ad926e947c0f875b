"""Operations (issue 5): alerts, the long-running-job watchdog, coverage, dashboard, restore tests, audit.

``workload_operations.Operations`` composes the modules of this package; README.md here says what runs
where and why.
"""
