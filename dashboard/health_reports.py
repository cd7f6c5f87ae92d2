"""A checkpoint's stored health report, where it has one: carried in its metadata, or kept
beside it as NAME.health.json (`lmc.analysis.health_check.health_path`; the bundled demos)."""

from __future__ import annotations

import json

from dashboard.model_state import LoadedModel
from dashboard.settings import beside
from lmc.analysis.health_check import health_path


def kept_report(loaded: LoadedModel) -> dict | None:
    """The report of `HealthReport.to_dict`, or None when there is none or it cannot be read (a
    torn or foreign file is no report: the Memory health page measures one again)."""
    carried = loaded.metadata.get("health")
    if isinstance(carried, dict):
        return carried
    kept = beside(loaded.path, health_path(loaded.path).name)  # no link out of its folder
    if kept is None:
        return None
    try:
        report = json.loads(kept.read_text())
    except (OSError, ValueError):
        return None
    return report if isinstance(report, dict) else None
