"""The GPU benchmark's report (`python -m lmc.bench gpu`): the published recipe's wall time
projected from one iteration, and the rows as a markdown table or JSON."""

from __future__ import annotations

import json

from lmc.training.config import TrainConfig

RECIPE_ITERATIONS = TrainConfig.iterations  # 300,000, of which the first 5,000 are warm-up


def project_recipe_s(iteration_s: float, iterations: int = RECIPE_ITERATIONS) -> float:
    """Seconds of `iterations` training iterations at `iteration_s` each: the training step
    alone (no data, validation or checkpoints). The first 5,000 (warm-up) predict 10 frames and
    cost less, so for the published recipe this is an upper bound by at most 5,000 / 300,000."""
    return iteration_s * iterations


def format_duration(seconds: float) -> str:
    """'12 min', '10.0 h' (under two days) or '5.2 d'."""
    if seconds < 90 * 60:
        return f"{seconds / 60:.0f} min"
    if seconds < 48 * 3600:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} d"


COLUMNS = (
    ("preset", "preset"),
    ("task", "task"),
    ("batch", "batch"),
    ("frames", "frames"),
    ("dtype", "dtype"),
    ("variant", "variant"),
    ("median_s", "ms / iteration"),
    ("clips_per_s", "clips/s"),
    ("peak_gib", "peak GiB"),
    ("first_calls_s", "warm-up s"),
    ("recipe_s", f"{RECIPE_ITERATIONS:,} iterations"),
    ("status", "status"),
)


def _cell(key: str, value: object) -> str:
    if value is None:
        return "-"
    if key == "median_s":
        return f"{value * 1000:.1f}"
    if key == "clips_per_s":
        return f"{value:.1f}"
    if key == "peak_gib":
        return f"{value:.2f}"
    if key == "first_calls_s":
        return f"{value:.1f}"
    if key == "recipe_s":
        return format_duration(value)
    return str(value).replace("|", "\\|")


def markdown_table(rows: list[dict]) -> str:
    """The rows as a markdown table; '-' where a row has no value (a failure, a rollout's
    projection)."""
    lines = [
        "| " + " | ".join(title for _, title in COLUMNS) + " |",
        "|" + "|".join("---" for _ in COLUMNS) + "|",
    ]
    for row in rows:
        lines.append("| " + " | ".join(_cell(key, row.get(key)) for key, _ in COLUMNS) + " |")
    return "\n".join(lines) + "\n"


def render(meta: dict, rows: list[dict], fmt: str) -> str:
    """The file --out writes: 'json' ({"meta", "rows"}) or 'md' (a line on the device, the
    table)."""
    if fmt == "json":
        return json.dumps({"meta": meta, "rows": rows}, indent=2) + "\n"
    about = ", ".join(f"{key} {value}" for key, value in meta.items())
    return f"{about}\n\n{markdown_table(rows)}"
