"""The metrics log of a run, `metrics.jsonl`: one JSON object per logged iteration.

Every record has an `iteration`; training records add the losses of each phase, `lr` and
`clips_per_s` (the speed since the record before); validation records add `val` (the model's
means), `val_baselines`, `val_source` and, for a model with memory, `health` (the cheap memory
measures). This module alone writes and reads the file.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

FILE_NAME = "metrics.jsonl"


def append_record(path: str | Path, record: dict[str, Any]) -> None:
    with open(path, "a") as f:
        f.write(json.dumps(record) + "\n")


def read_records(path: str | Path) -> list[dict[str, Any]]:
    """The records of a log, oldest first; [] when there is no log. Lines that are not JSON
    objects with an integer `iteration` (a torn last line of a killed run) are skipped."""
    path = Path(path)
    if not path.is_file():
        return []
    records = []
    for line in path.read_text().splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(record, dict) and isinstance(record.get("iteration"), int):
            records.append(record)
    return records


def truncate_after(path: str | Path, iteration: int) -> None:
    """Drop the records written after `iteration` (a resume goes back to its checkpoint), so the
    log holds each iteration once."""
    path = Path(path)
    if not path.exists():
        return
    kept = [r for r in read_records(path) if r["iteration"] <= iteration]
    path.write_text("".join(json.dumps(r) + "\n" for r in kept))


def train_seconds(records: Sequence[dict[str, Any]], batch_size: int) -> float:
    """Seconds spent in training iterations (validation excluded): each record's `clips_per_s`
    covers the iterations since the record before it."""
    total, previous = 0.0, 0
    for record in records:
        rate = record.get("clips_per_s")
        if rate:
            total += (record["iteration"] - previous) * batch_size / rate
        previous = record["iteration"]
    return total
