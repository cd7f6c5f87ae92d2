"""Measure a shipped model's memory health again, with the current `lmc.health`, and write it
everywhere the model carries it: the report beside the checkpoint (NAME.health.json), the
checkpoint's `health` metadata, and the "Memory health" section of its card (MODEL_CARD.md and the
card in the metadata). The weights are not touched.

    python -m train.refresh_health models/demo-live/lmc-small-mnist-live.safetensors

A bundled report outlives the code that measured it: when the health check gains a figure (the
probe's classifier and its ceiling, the family figures), the shipped reports lack it, and the
dashboard shows a blank where a new user expects a number. The clips, lengths and motion are those
of the stored report (those `train.export_model` measured on), so only the code changes.
"""

from __future__ import annotations

import json
from pathlib import Path

from lmc import cli
from lmc.analysis.health_check import health_check
from lmc.analysis.health_report import HealthReport, health_path, read_report
from lmc.checkpoint import load_checkpoint, save_checkpoint
from lmc.data.fixed_sets import fixed_set
from lmc.io import atomic_write
from train.export_model import health_section

HEADING = "## Memory health\n"


def with_section(card: str, section: str) -> str:
    """`card` with its "## Memory health" section, heading to the end of its figures table,
    replaced by `section`; what follows the table (a note written by hand) stays. A card without
    one gets it at the end, or before its notes."""
    if HEADING in card:
        start = card.index(HEADING)
        lines = card[start:].splitlines(keepends=True)
        in_table, end = False, len(lines)
        for i, line in enumerate(lines):
            if line.startswith("|"):
                in_table = True
            elif in_table or (i > 0 and line.startswith("## ")):
                end = i
                break
        rest = "".join(lines[end:])
        return card[:start] + section + ("\n" + rest.lstrip("\n") if rest.strip() else "")
    if "\n## Notes\n" in card:
        head, notes = card.split("\n## Notes\n", 1)
        return f"{head.rstrip()}\n\n{section}\n## Notes\n{notes}"
    return f"{card.rstrip()}\n\n{section}"


def stored_lengths(checkpoint: Path, metadata: dict) -> tuple[int, int, int]:
    """(clips, short_len, out_len) of the report the model ships with (carried in its metadata,
    else kept beside it), else the export's defaults (256 clips, 10 -> 10)."""
    carried, kept = metadata.get("health"), health_path(checkpoint)
    if isinstance(carried, dict):
        report = HealthReport.from_dict(carried)
    elif kept.is_file():
        report = read_report(kept)
    else:
        return 256, 10, 10
    return report.clips or 256, report.short_len or 10, report.out_len or 10


def card_file(checkpoint: Path) -> Path:
    """The model's card file: NAME.MODEL_CARD.md in a folder of several models
    (`train.export_model --shared_folder`), else the folder's MODEL_CARD.md."""
    own = checkpoint.with_name(f"{checkpoint.stem}.MODEL_CARD.md")
    return own if own.is_file() else checkpoint.parent / "MODEL_CARD.md"


def refresh(checkpoint: Path, clips: int | None = None) -> HealthReport:
    model, metadata = load_checkpoint(checkpoint)
    if model.memory is None:
        raise ValueError(f"{checkpoint}: the model has no memory, so it has no memory health")
    stored_clips, short_len, out_len = stored_lengths(checkpoint, metadata)
    clips = clips or stored_clips
    sample = fixed_set(
        "test",
        max(clips, 1000),  # the export's test set: its first clips are the health's
        short_len + out_len,
        image_size=model.config.image_size,
        motion=metadata.get("motion", "standard"),
    ).subset(slice(0, clips))
    report = health_check(model, sample, short_len, out_len)

    # Everything is measured before anything is written: a failure leaves the model as it was.
    section = health_section(report)
    card = card_file(checkpoint)
    metadata = {**metadata, "health": report.to_dict()}
    if isinstance(metadata.get("model_card"), str):
        metadata["model_card"] = with_section(metadata["model_card"], section)
    save_checkpoint(model, checkpoint, **metadata)
    atomic_write(
        health_path(checkpoint),
        lambda tmp: tmp.write_text(json.dumps(report.to_dict(), indent=1) + "\n"),
    )
    if card.is_file():
        text = with_section(card.read_text(), section)
        atomic_write(card, lambda tmp: tmp.write_text(text))
    return report


def main(argv: list[str] | None = None) -> HealthReport:
    p = cli.ArgumentParser(
        prog="python -m train.refresh_health", description=__doc__.split("\n")[0]
    )
    p.add_argument("checkpoint", type=Path, help="a .safetensors checkpoint of ours")
    p.add_argument("--clips", type=int, default=None, help="default: the stored report's")
    args = p.parse_args(argv)
    if args.clips is not None and args.clips < 1:
        p.error(f"--clips {args.clips}: must be at least 1")
    report = refresh(args.checkpoint, args.clips)
    print("\n".join(report.verdicts))
    return report


if __name__ == "__main__":
    cli.run(main, prog="train.refresh_health")
