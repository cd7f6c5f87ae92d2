"""Package a finished run as a shippable model: checkpoint + model card with measured test metrics.

    python -m train.export_model --run_dir RUN --out models/demo/lmc-small-mnist.safetensors \
        --command "$(cat RUN/command.txt)" [--checkpoint best] [--test_clips 1000]

Evaluates the run's best (or last) checkpoint on the generated Moving-MNIST test set with the
run's lengths, beside the copy-last-frame and all-zero baselines, and writes the checkpoint (with
the card as its `model_card` metadata) and MODEL_CARD.md next to it. The card states the exact
command, iterations, wall time (from metrics.jsonl), machine and the numbers.
"""

from __future__ import annotations

import json
import platform
from pathlib import Path

import torch

from lmc import cli
from lmc.analysis.health_check import health_check
from lmc.analysis.health_report import HealthReport, figure_rows, health_path
from lmc.checkpoint import load_checkpoint, save_checkpoint
from lmc.data.fixed_sets import fixed_set
from lmc.evaluation import batched, evaluate, finalize
from lmc.io import atomic_write
from lmc.model import parameter_counts
from lmc.training import metrics_log


def wall_time_hours(metrics_path: Path, batch_size: int) -> float | None:
    """Training time from the logged clips/s of each logging interval (validation excluded)."""
    records = metrics_log.read_records(metrics_path)
    return metrics_log.train_seconds(records, batch_size) / 3600 or None


def card_text(
    name: str,
    command: str,
    train_cfg: dict,
    model_cfg: dict,
    counts: dict,
    report: dict,
    wall_hours: float | None,
    machine: str,
    step: int,
) -> str:
    rows = []
    for method, label in (
        ("model", "this model"),
        ("copy_last", "copy last input frame"),
        ("zeros", "all-zero frames"),
    ):
        m = report[method]
        rows.append(
            f"| {label} | {m['mse']['mean']:.1f} | {m['mae']['mean']:.1f} | {m['psnr']['mean']:.2f} | {m['ssim']['mean']:.4f} |"
        )
    best_baseline = min(report["copy_last"]["mse"]["mean"], report["zeros"]["mse"]["mean"])
    gain = 1 - report["model"]["mse"]["mean"] / best_baseline
    per_frame = ", ".join(f"{v:.1f}" for v in report["model"]["mse"]["per_frame"])
    wall = f"{wall_hours:.2f} h" if wall_hours else "see metrics.jsonl"
    return f"""# {name}

LMC-Memory (Lee et al., CVPR 2021), preset `small` (a width-reduced model of the published
architecture: {counts["total"]:,} parameters, {counts["inference"]:,} at inference), trained on
Moving-MNIST {train_cfg["short_len"]} -> {train_cfg["out_len"]} with memory alignment learning
(two phases per iteration, as published) on a CPU.
{departure_text(train_cfg, model_cfg)}
## Training

- Command: `{command}`
- Iterations: {step:,} at batch {train_cfg["batch_size"]} (fresh generated clips every batch, seed {train_cfg["seed"]}),
  Adam lr {train_cfg["lr"]}, long window {train_cfg["long_len"]} frames, {train_cfg["memory_size"] or model_cfg["memory_size"]} memory slots
- Wall time: {wall}
- Machine: {machine}

## Test metrics

{report["clips"]} clips of the {report_source(report)}, {train_cfg["short_len"]} -> {train_cfg["out_len"]} frames;
predictions clamped to [0, 1]; MSE and MAE are per-frame sums over the 64x64 pixels, PSNR with
data range 1, SSIM with a 7x7 window and data range 1 (the field's conventions).

| prediction | MSE | MAE | PSNR | SSIM |
|---|---|---|---|---|
{chr(10).join(rows)}

MSE is {100 * gain:.1f} % lower than the better baseline ({best_baseline:.1f}).
Per output frame, MSE: {per_frame}.

These are numbers on self-generated sequences of held-out MNIST test digits, not on the standard
`mnist_test_seq.npy` file, and a small CPU-trained model: the published LMC-Memory reaches MSE
41.5 / SSIM 0.924 on Moving-MNIST 10 -> 10 after 300,000 iterations at batch 128 on 4 GPUs.

## Configuration

```json
{json.dumps(model_cfg, indent=1)}
```
"""


def departure_text(train_cfg: dict, model_cfg: dict) -> str:
    found = departures(train_cfg, model_cfg)
    if not found:
        return "\nEvery setting of the memory is the published one.\n"
    return (
        "\n**Not the published recipe**: this model departs from it in "
        + "; ".join(found)
        + ". See docs/memory-health.md for why.\n"
    )


def departures(train_cfg: dict, model_cfg: dict) -> list[str]:
    """The settings in which this run leaves the published recipe, in words."""
    out = []
    if model_cfg.get("temperature", 1.0) != 1.0:
        out.append(f"addressing temperature {model_cfg['temperature']:g} (published: 1, none)")
    if model_cfg.get("addressing", "cosine") != "cosine":
        out.append(
            "each query's cosines standardised over the slots before the softmax, "
            "softmax((cos - mean) / std / T), so the model cannot flatten its addressing by "
            "narrowing its cosines (published: softmax(cos))"
        )
    if model_cfg.get("query_padding", "zeros") != "zeros":
        out.append(f"motion encoders padded by {model_cfg['query_padding']} (published: zeros)")
    if model_cfg.get("query", "local") == "cell":
        out.append(
            "each cell's memory query is computed from that 16x16 cell's own pixels alone, so it "
            "sees the motion inside the cell and not where the cell lies (published: queries cut "
            "from one map of the whole frame, whose receptive fields span several cells)"
        )
    if model_cfg.get("predictor_frames", 0):
        out.append(
            f"the ConvLSTM predictor reads only the last {model_cfg['predictor_frames']} input "
            "frame(s) while the memory's query reads them all, so the motion it needs must come "
            "through the recall (published: the predictor reads every input frame)"
        )
    if model_cfg.get("memory_recurrent", False):
        out.append(
            "the memory feature also enters the ConvLSTM's first layer at every step, so the recall "
            "can steer the dynamics (published: it reaches only the decoder, through the gated "
            "fusion)"
        )
    if train_cfg.get("long_window", "anywhere") != "anywhere":
        out.append(
            f"phase 1's long window ends with the short input ({train_cfg.get('long_len')} frames, "
            "`--long_window input`), so it never sees the frames to be predicted (published: a "
            "window drawn anywhere in the training clip)"
        )
    if train_cfg.get("align_weight"):
        out.append(
            f"an explicit alignment term in phase 2, weight {train_cfg['align_weight']:g}: the "
            "cosine distance of the short input's queries to the long window's (published: none)"
        )
    if train_cfg.get("address_align_weight"):
        out.append(
            f"an addressing alignment term in phase 2, weight "
            f"{train_cfg['address_align_weight']:g}: KL(long || short) of each cell's addressing "
            "(published: none)"
        )
    if train_cfg.get("balance_weight"):
        out.append(
            f"a slot-usage balance term in both phases, weight {train_cfg['balance_weight']:g}: "
            "log S minus the entropy of the batch's mean addressing (published: none)"
        )
    if train_cfg.get("readout_align_weight"):
        out.append(
            f"a readout alignment term in phase 2, weight {train_cfg['readout_align_weight']:g}: "
            "the squared distance of the short input's readout to the long window's, over the "
            "long readout's norm (published: none)"
        )
    if train_cfg.get("clip_align_weight"):
        out.append(
            f"a clip alignment term in phase 2, weight {train_cfg['clip_align_weight']:g}: the "
            "squared distance of the short input's batch-centred readout to the long window's, "
            "over the long readouts' variance between clips (published: none)"
        )
    if train_cfg.get("matching_learns", "prediction") != "prediction":
        out.append(
            "the matching encoder learns from the phase-2 alignment terms alone, not from the "
            "phase-2 prediction loss (published: from the prediction loss)"
        )
    if train_cfg.get("checkpoint_load") and train_cfg.get("checkpoint_load_file"):
        out.append(
            f"initialised from `{train_cfg['checkpoint_load_file']}`, not from random weights; "
            "its own training is part of this model's recipe"
        )
    if train_cfg.get("reinitialize"):
        out.append(f"after that load, fresh initial weights for {train_cfg['reinitialize']}")
    if train_cfg.get("freeze"):
        out.append(f"kept as loaded through training (frozen): {train_cfg['freeze']}")
    return out


def health_section(report: HealthReport) -> str:
    """The card's memory-health section: the verdicts and the figures behind them."""
    lines = [
        "## Memory health",
        "",
        f"`python -m lmc.health` on the first {report.clips} clips of the generated test set "
        f"({report.short_len} -> {report.out_len}):",
        "",
        *[f"- {v}" for v in report.verdicts],
        "",
        "| measure | value |",
        "|---|---|",
    ]
    for row in figure_rows(report):
        if row.text is not None:
            lines.append(f"| {row.label.replace('|', '&#124;')} | {row.text} |")
    return "\n".join(lines) + "\n"


def report_source(report: dict) -> str:
    return report.get("source", "generated Moving-MNIST test set")


def main(argv: list[str] | None = None) -> Path:
    p = cli.ArgumentParser(  # a bad flag: one line (lmc.cli), not argparse's whole usage
        prog="python -m train.export_model", description=__doc__.splitlines()[0]
    )
    p.add_argument("--run_dir", type=Path, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--command", required=True, help="the exact training command, for the card")
    p.add_argument("--checkpoint", choices=("best", "last"), default="best")
    p.add_argument("--test_clips", type=int, default=1000)
    p.add_argument("--name", default="LMC-Memory small, Moving-MNIST 10 -> 10 (bundled demo)")
    p.add_argument("--wall_hours", type=float, default=None, help="measured wall time, if known")
    p.add_argument(
        "--note",
        type=Path,
        default=None,
        help="a Markdown file whose text the card carries under '## Notes' (lineage, caveats)",
    )
    p.add_argument(
        "--health_clips", type=int, default=256, help="test clips of the memory health (0: none)"
    )
    p.add_argument(
        "--shared_folder",
        action="store_true",
        help="the folder holds more than one model (a model and its twin): name the card, test "
        "metrics and training log after the checkpoint (NAME.MODEL_CARD.md, ...)",
    )
    p.add_argument(
        "--machine",
        default=f"{platform.machine()}, {torch.get_num_threads()} torch threads, CPU only",
    )
    args = p.parse_args(argv)

    # Read before anything is measured, so a missing note fails at once and writes nothing.
    note = args.note.read_text() if args.note is not None else None
    log = (args.run_dir / metrics_log.FILE_NAME).read_text()  # the Model page's curves
    config = json.loads((args.run_dir / "config.json").read_text())
    train_cfg, model_cfg = config["train"], config["model"]
    model, meta = load_checkpoint(args.run_dir / f"{args.checkpoint}.safetensors")
    clip_len = train_cfg["short_len"] + train_cfg["out_len"]
    motion = train_cfg.get("motion", "standard")  # a model of motion contexts is tested on them
    clips = fixed_set(
        "test", args.test_clips, clip_len, image_size=model.config.image_size, motion=motion
    )
    sums = evaluate(
        model, batched(clips.to_tensor(), 50), train_cfg["short_len"], train_cfg["out_len"]
    )
    report = finalize(sums)
    report["source"] = clips.source
    step = int(meta.get("step", 0))
    wall = (
        args.wall_hours
        if args.wall_hours is not None
        else wall_time_hours(args.run_dir / "metrics.jsonl", train_cfg["batch_size"])
    )
    text = card_text(
        args.name,
        args.command,
        train_cfg,
        model_cfg,
        parameter_counts(model),
        report,
        wall,
        args.machine,
        step,
    )
    health = None
    if args.health_clips and model.memory is not None:
        sample = fixed_set(
            "test",
            max(args.health_clips, 1000),
            clip_len,
            image_size=model.config.image_size,
            motion=motion,
        )
        health = health_check(
            model,
            sample.subset(slice(0, args.health_clips)),
            train_cfg["short_len"],
            train_cfg["out_len"],
        )
        text += "\n" + health_section(health)
    if note:
        text += "\n## Notes\n\n" + note.strip() + "\n"
    save_checkpoint(
        model,
        args.out,
        step=step,
        model_card=text,
        test_metrics={k: v["mean"] for k, v in report["model"].items()},
        test_baselines={
            m: {k: v["mean"] for k, v in report[m].items()} for m in ("copy_last", "zeros")
        },
        metrics_source=clips.source,
        training_command=args.command,
        motion=train_cfg.get("motion", "standard"),  # the dashboard's default test set
        **({"health": health.to_dict()} if health is not None else {}),
    )
    if health is not None:
        atomic_write(
            health_path(args.out),
            lambda tmp: tmp.write_text(json.dumps(health.to_dict(), indent=1) + "\n"),
        )
    # One model in the folder: MODEL_CARD.md, ...; several (a model and its no-memory twin):
    # each file named after its checkpoint, NAME.MODEL_CARD.md, ...
    prefix = f"{args.out.stem}." if args.shared_folder else ""
    atomic_write(args.out.parent / f"{prefix}MODEL_CARD.md", lambda tmp: tmp.write_text(text))
    atomic_write(
        args.out.parent / f"{prefix}test_metrics.json",
        lambda tmp: tmp.write_text(json.dumps(report, indent=1) + "\n"),
    )
    atomic_write(
        args.out.parent / f"{prefix}{metrics_log.FILE_NAME}", lambda tmp: tmp.write_text(log)
    )
    print(text)
    return args.out


if __name__ == "__main__":
    cli.run(main, prog="train.export_model")
