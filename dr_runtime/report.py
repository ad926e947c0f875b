"""Run summaries: one structured log line and CloudWatch metrics per job run.

Every job ends with ``RunSummary.finish``: it logs a JSON summary, then publishes the job's metrics and
counts, then raises ``JobFailedError`` when an item failed, so that Lambda marks the invocation failed
(and the command exits 1), which is what the alerting watches. Metrics that cannot be published stop
the run with ``AwsUnavailableError`` after the summary was logged (the command exits 3).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from dr_runtime.errors import AwsProblem, AwsUnavailableError, Kind, error_text

LOG = logging.getLogger("aws_dr_backup")
METRIC_NAMESPACE = "AwsDrBackup"
# PutMetricData accepts more today; 20 per call is the long-standing limit and costs one extra call.
METRICS_PER_CALL = 20


def configure_logging() -> None:
    """Lambda installs a root handler already; a command gets one on stderr, so that stdout holds only
    the report. The SDK's own INFO lines stay quiet either way."""
    if not logging.getLogger().handlers:
        logging.basicConfig(level=logging.WARNING, format="%(message)s")
    LOG.setLevel(logging.INFO)


def log_event(event: str, **fields: Any) -> None:
    """One JSON log line: ``{"event": ..., **fields}``."""
    LOG.info(json.dumps({"event": event, **fields}, default=str, sort_keys=True))


class JobFailedError(RuntimeError):
    """Raised at the end of a run in which at least one item failed."""


def publish_metrics(cloudwatch: Any, data: Sequence[dict[str, Any]]) -> None:
    for start in range(0, len(data), METRICS_PER_CALL):
        cloudwatch.put_metric_data(
            Namespace=METRIC_NAMESPACE, MetricData=list(data[start : start + METRICS_PER_CALL])
        )


@dataclass
class RunSummary:
    job: str
    done: list[str] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)
    failed: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "job": self.job,
            "done": sorted(self.done),
            "skipped": dict(sorted(self.skipped.items())),
            "failed": dict(sorted(self.failed.items())),
            "counts": {"done": len(self.done), "skipped": len(self.skipped), "failed": len(self.failed)},
        }

    def metric_data(self) -> list[dict[str, Any]]:
        """``DoneItems``, ``SkippedItems``, ``FailedItems`` with dimension ``Job``."""
        return [
            {
                "MetricName": f"{name.capitalize()}Items",
                "Dimensions": [{"Name": "Job", "Value": self.job}],
                "Value": float(value),
                "Unit": "Count",
            }
            for name, value in self.as_dict()["counts"].items()
        ]

    def finish(self, cloudwatch: Any | None, metrics: Sequence[dict[str, Any]] = ()) -> dict[str, Any]:
        """Log the summary; publish ``metrics`` and the counts unless ``cloudwatch`` is None; raise
        ``JobFailedError`` if an item failed. Publishing that fails raises ``AwsUnavailableError``."""
        summary = self.as_dict()
        LOG.info(json.dumps({"event": "run-summary", **summary}))
        if cloudwatch is not None:
            try:
                publish_metrics(cloudwatch, [*metrics, *self.metric_data()])
            except (BotoCoreError, ClientError) as error:
                also = f"; {len(self.failed)} item(s) failed too (see the summary)" if self.failed else ""
                raise AwsUnavailableError(
                    AwsProblem(
                        Kind.METRICS_NOT_PUBLISHED, f"metrics not published: {error_text(error)}{also}"
                    )
                ) from error
        if self.failed:
            raise JobFailedError(f"{self.job}: {len(self.failed)} failed: {', '.join(sorted(self.failed))}")
        return summary
