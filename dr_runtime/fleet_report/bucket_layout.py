"""Where the fleet's reports live in the fleet bucket: one fact for the organisation stack (bucket and
its policy), the coverage job (which writes there) and the fleet report (which reads there).

Plain Python, no AWS calls: the coverage Lambda's code package holds ``dr_runtime`` alone.

::

    <bucket>/coverage/<account id>/<region>/latest.json    each workload account's latest coverage report
    <bucket>/job-reports/...                               Backup Audit Manager's organisation job reports
"""

from __future__ import annotations

import re

COVERAGE_PREFIX = "coverage"
LATEST = "latest.json"
JOB_REPORTS_PREFIX = "job-reports"
# IAM resolves global condition keys used as policy variables (docs/organisation.md): a workload account
# can write below its own account ID only.
OWN_ACCOUNT_VARIABLE = "${aws:PrincipalAccount}"

_KEY = re.compile(rf"^{COVERAGE_PREFIX}/(\d{{12}})/([a-z]{{2}}(?:-gov)?-[a-z]+-\d)/{re.escape(LATEST)}$")


def bucket_name(prefix: str, account: str, region: str) -> str:
    """The fleet bucket, in the reports account: ``<prefix>-fleet-<account>-<region>`` (at most 57 chars)."""
    return f"{prefix}-fleet-{account}-{region}"


def coverage_key(account: str, region: str) -> str:
    return f"{COVERAGE_PREFIX}/{account}/{region}/{LATEST}"


def parse_coverage_key(key: str) -> tuple[str, str] | None:
    """``coverage/<account>/<region>/latest.json`` -> (account, region); None for any other key."""
    match = _KEY.match(key)
    return None if match is None else (match.group(1), match.group(2))


def own_coverage_objects(bucket_arn: str) -> str:
    """The objects a workload account may write: its own account's prefix, whatever its region."""
    return f"{bucket_arn}/{COVERAGE_PREFIX}/{OWN_ACCOUNT_VARIABLE}/*"
