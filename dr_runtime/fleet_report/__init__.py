"""The fleet coverage report: every workload account's latest coverage report, merged.

``python -m dr_runtime.fleet_report`` reads the reports from the fleet bucket or a local copy of it
and prints coverage per account and type, the unprotected resources with why, and the accounts whose
report is missing or stale, as a table, JSON or one HTML page. :mod:`.layout` is where each report lives.
"""
