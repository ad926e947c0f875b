"""Run summaries: one structured log line and CloudWatch metrics per job run.

Every job ends with ``RunSummary.finish``: it logs a JSON summary, publishes counts, and raises
``JobFailedError`` when anything failed so that Lambda marks the invocation failed (and the CLI exits
non-zero), which is what the alerting watches.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

LOG = logging.getLogger("aws_dr_backup")
METRIC_NAMESPACE = "AwsDrBackup"


class JobFailedError(RuntimeError):
    """Raised at the end of a run in which at least one item failed."""


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

    def publish(self, cloudwatch: Any) -> None:
        counts = self.as_dict()["counts"]
        cloudwatch.put_metric_data(
            Namespace=METRIC_NAMESPACE,
            MetricData=[
                {
                    "MetricName": f"{name.capitalize()}Items",
                    "Dimensions": [{"Name": "Job", "Value": self.job}],
                    "Value": float(value),
                    "Unit": "Count",
                }
                for name, value in counts.items()
            ],
        )

    def finish(self, cloudwatch: Any | None) -> dict[str, Any]:
        summary = self.as_dict()
        LOG.info(json.dumps({"event": "run-summary", **summary}))
        if cloudwatch is not None:
            self.publish(cloudwatch)
        if self.failed:
            raise JobFailedError(f"{self.job}: {len(self.failed)} failed: {', '.join(sorted(self.failed))}")
        return summary
