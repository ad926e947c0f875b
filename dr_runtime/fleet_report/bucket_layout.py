"""Where the fleet's reports live: one fact for the organisation stack (buckets and their policies), the
coverage job (which writes there) and the fleet report (which reads there).

Plain Python, no AWS calls: the coverage Lambda's code package holds ``dr_runtime`` alone.

::

    <fleet bucket>/coverage/<account id>/<region>/latest.json   each workload account's latest coverage report
    <job-reports bucket>/job-reports/...                        Backup Audit Manager's organisation job reports

The two are apart because a report plan delivers only to a bucket of its own account (the delegated
administrator or the management account), while the fleet bucket lives in the reports account
(docs/aws-facts.md 7.8). Job reports delivered to the fleet bucket before the split stay there under
``job-reports/``; the fleet report reads ``coverage/`` only.
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


def job_reports_bucket_name(prefix: str, account: str, region: str) -> str:
    """The job reports' bucket, in the report plans' account: ``<prefix>-job-reports-<account>-<region>``
    (at most 60 chars)."""
    return f"{prefix}-job-reports-{account}-{region}"


def coverage_key(account: str, region: str) -> str:
    return f"{COVERAGE_PREFIX}/{account}/{region}/{LATEST}"


def parse_coverage_key(key: str) -> tuple[str, str] | None:
    """``coverage/<account>/<region>/latest.json`` -> (account, region); None for any other key."""
    match = _KEY.match(key)
    return None if match is None else (match.group(1), match.group(2))


def own_coverage_objects(bucket_arn: str) -> str:
    """The objects a workload account may write: its own account's prefix, whatever its region."""
    return f"{bucket_arn}/{COVERAGE_PREFIX}/{OWN_ACCOUNT_VARIABLE}/*"
