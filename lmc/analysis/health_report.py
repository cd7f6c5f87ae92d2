"""The memory health report: every figure of a health check, each defined once, and its verdicts.

`HealthReport` is the one record of `python -m lmc.health`, the model card, the experiments' grid
and the dashboard. Each figure is one field; a field whose metadata carries a label is one row of
the figure table (`figure_rows`), printed beside its control field. `to_dict` / `from_dict` are
the JSON of `lmc.health --json` and of the `*.health.json` files kept beside checkpoints.

Every field may be absent from a stored report (one written before the figure existed, or a
partial one): it reads as None, its row is left out, and a verdict that needs it is not drawn.
To add figures: add their fields below with `figure(...)` (default None), or one field holding a
group of them, `family: FamilyHealth | None = None`, where FamilyHealth is a dataclass whose
fields are made with `figure` (its JSON is one nested object, its rows sit where the field is,
and a report without it reads None); fill them in `lmc.analysis.health_check.health_check`; for
a verdict on them, add one function to VERDICTS. Nothing else lists the fields.

The verdicts are drawn from the figures each time they are asked for, never read back from a
file, so a stored report speaks with the current thresholds (`lmc.analysis.health`) and words.
A finding names its question, not a page: the dashboard maps names to the pages that show the
evidence (`dashboard.health_reports.EVIDENCE`).
"""

from __future__ import annotations

import dataclasses
import functools
import json
import math
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lmc.analysis import health as hl


def figure(label: str | None = None, control: str | None = None, fmt: str = "{:.3f}") -> Any:
    """A field of the report, None until measured. With a `label` it is a row of the figure
    table, written with `fmt` from its value (and its `control` field's, when named); without,
    it is a setting of the check or a control that another row prints."""
    return field(default=None, metadata={"label": label, "control": control, "format": fmt})


CHANCE = "{:.3f} (chance {:.3f})"
SHUFFLED = "{:.3f} (shuffled {:.3f})"


@dataclass
class FamilyHealth:
    """What the memory knows of the motion family, on clips with motion contexts
    (`lmc.analysis.families` measures it over the labelled cells: a family's digit covers at
    least a quarter of the cell per input frame). Each figure beside its control: the NMI with the
    families shuffled, the same cells' NMI with their cell index (the positional reading to
    beat), the probes beside chance and beside the probe on the true input displacements of the
    cell's digit (the ceiling: what a perfect reader of the input could tell)."""

    nmi_family: float | None = figure(
        "NMI top slot ~ motion family", "nmi_family_shuffled", SHUFFLED
    )
    nmi_family_shuffled: float | None = figure()
    nmi_cell: float | None = figure(
        "NMI top slot ~ cell, the same cells", "nmi_cell_shuffled", SHUFFLED
    )
    nmi_cell_shuffled: float | None = figure()
    probe_readout: float | None = figure("family probe, readout", "chance", CHANCE)
    probe_query: float | None = figure("family probe, query", "chance", CHANCE)
    probe_long_readout: float | None = figure(
        "family probe, long window's readout", "chance", CHANCE
    )
    probe_truth: float | None = figure(
        "family probe, true input motion (ceiling)", "chance", CHANCE
    )
    chance: float | None = figure()
    cells: int | None = figure("labelled cells (family known)", fmt="{:d}")


@dataclass
class HealthReport:
    """Every figure of a health check (`lmc.analysis.health_check`); see docs/memory-health.md."""

    # How it was measured.
    clips: int | None = figure()
    short_len: int | None = figure()
    out_len: int | None = figure()
    memory_size: int | None = figure()
    temperature: float | None = figure()
    # The classifier of the probes: reports written before 2026-12-03 lack it and used
    # hl.PROBE_METHOD_BEFORE, whose ceiling was lower.
    probe_method: str | None = figure()
    probe_samples: int | None = figure()  # moving cells the probes classify
    seconds: float | None = figure()

    # Usage: how many slots are ever chosen, and how sharply.
    slots_alive: int | None = figure(
        "slots alive (top choice of some cell)", "memory_size", "{:d} of {:d}"
    )
    effective_slots: float | None = figure(
        "effective slots per cell, exp(H)", "memory_size", "{:.1f} of {:d}"
    )
    max_weight: float | None = figure(
        "largest weight / softmax bound", "max_weight_bound", "{:.4f} / {:.4f}"
    )
    max_weight_bound: float | None = figure()

    # Tuning: what the top slot follows, each NMI beside the same with the labels shuffled.
    nmi_position: float | None = figure(
        "NMI top slot ~ cell position", "nmi_position_shuffled", SHUFFLED
    )
    nmi_position_shuffled: float | None = figure()
    nmi_direction: float | None = figure(
        "NMI top slot ~ true direction", "nmi_direction_shuffled", SHUFFLED
    )
    nmi_direction_shuffled: float | None = figure()

    # Knowledge: linear probes of the true motion of the moving cells.
    probe_direction_readout: float | None = figure(
        "direction probe, readout", "probe_chance", CHANCE
    )
    probe_direction_query: float | None = figure("direction probe, query", "probe_chance", CHANCE)
    # The same probe on the long window's readout (phase 1): what the short input's recall could
    # carry at best if it recalled what the long window does.
    probe_direction_long_readout: float | None = figure(
        "direction probe, long window's readout", "probe_chance", CHANCE
    )
    # The same probe on the cells' true velocity (dx, dy): the most a 2-d motion code could give,
    # below 1 where a cell holds two digits or a bounce.
    probe_direction_truth: float | None = figure(
        "direction probe, true velocity (ceiling)", "probe_chance", CHANCE
    )
    probe_chance: float | None = figure()
    probe_speed_readout: float | None = figure("speed probe, readout", "probe_speed_chance", CHANCE)
    probe_speed_query: float | None = figure("speed probe, query", "probe_speed_chance", CHANCE)
    probe_speed_chance: float | None = figure()

    # Use: the prediction error (per frame, summed over pixels) with the recall replaced.
    mse_own: float | None = figure("MSE, own recall", fmt="{:.2f}")
    mse_other_recall: float | None = figure("MSE, another clip's recall", fmt="{:.2f}")
    mse_uniform: float | None = figure("MSE, uniform addressing", fmt="{:.2f}")
    mse_long_recall: float | None = figure("MSE, the long window's recall", fmt="{:.2f}")
    mse_long_other_recall: float | None = figure(
        "MSE, another clip's long-window recall", fmt="{:.2f}"
    )
    # Short against long readouts, what differs between clips (and against another clip's).
    readout_clip_correlation: float | None = figure(
        "short/long readout, clip differences",
        "readout_clip_correlation_shuffled",
        "corr {:.3f} (other clip {:.3f})",
    )
    readout_clip_correlation_shuffled: float | None = figure()
    # The share of the memory feature F (after the embedder's last ReLU) above zero, for the short
    # input's recall and the long window's: near 0 the embedder has silenced the memory path, and
    # no recall, however aligned, can reach the decoder.
    feature_active_short: float | None = figure(
        "memory feature F above zero, short / long", "feature_active_long", "{:.3f} / {:.3f}"
    )
    feature_active_long: float | None = figure()
    # How much the queries differ between clips (0: one query for all clips).
    query_spread_short: float | None = figure("query spread over clips, short")
    query_spread_long: float | None = figure("query spread over clips, long")

    # Alignment: does the short input recall what the long window recalled?
    alignment_top1: float | None = figure(
        "long/short top-1 agreement", "alignment_top1_chance", "{:.3f} (other clip {:.3f})"
    )
    alignment_top1_chance: float | None = figure()
    alignment_kl: float | None = figure(
        "KL(long || short), nats", "alignment_kl_chance", "{:.4f} (other clip {:.4f})"
    )
    alignment_kl_chance: float | None = figure()

    # Motion contexts: on clips whose digits follow motion families, what the memory knows of the
    # family (None on standard Moving-MNIST, where every digit bounces).
    family: FamilyHealth | None = None

    # ------------------------------------------------------------------------- derived

    @property
    def slots_dead(self) -> int | None:
        if self.memory_size is None or self.slots_alive is None:
            return None
        return self.memory_size - self.slots_alive

    @property
    def other_recall_change(self) -> float | None:
        """Relative change of the MSE when every cell gets another clip's recall."""
        return _change(self.mse_other_recall, self.mse_own)

    @property
    def uniform_change(self) -> float | None:
        """Relative change of the MSE under uniform addressing."""
        return _change(self.mse_uniform, self.mse_own)

    def findings(self) -> list[Finding]:
        """The verdicts whose figures this report holds, in VERDICTS' order."""
        return [found for verdict in VERDICTS if (found := verdict(self)) is not None]

    @property
    def verdicts(self) -> list[str]:
        return [f.verdict for f in self.findings()]

    # ------------------------------------------------------------------------- JSON

    def to_dict(self) -> dict[str, Any]:
        """The JSON object: every field (None where not measured), then the derived keys."""
        values = dataclasses.asdict(self)  # a group of figures is a nested object
        found = self.findings()
        values["findings"] = [dataclasses.asdict(f) for f in found]
        values["verdicts"] = [f.verdict for f in found]
        values["slots_dead"] = self.slots_dead
        return values

    @classmethod
    def from_dict(cls, values: object) -> HealthReport:
        """A report from its JSON object. An absent field reads as None; keys this version does
        not know (and the derived ones) are ignored; a value of the wrong type is a ValueError
        naming the field, so a foreign file is refused rather than half read."""
        return _build(cls, values, "")


@dataclass(frozen=True)
class Finding:
    """One plain answer: `name` of the question, `healthy` or not, and the `verdict` in words with
    the numbers it was drawn from."""

    name: str
    healthy: bool
    verdict: str


@dataclass(frozen=True)
class FigureRow:
    """One row of the figure table: its label and its value written beside its control, or None
    where the report lacks the figure (or its control) or the figure is NaN."""

    label: str
    text: str | None


def figure_rows(report: HealthReport) -> list[FigureRow]:
    """The figure table, one row per labelled field, in the order of the fields; a group's rows
    where the group is, none for a group the report lacks."""
    rows = []
    for f in dataclasses.fields(report):
        value = getattr(report, f.name)
        if dataclasses.is_dataclass(value):
            rows += figure_rows(value)  # its controls are its own fields
            continue
        label, control, fmt = (f.metadata.get(k) for k in ("label", "control", "format"))
        if label is None:
            continue
        other = getattr(report, control) if control else None
        missing = value is None or (control is not None and other is None)
        if missing or (isinstance(value, float) and math.isnan(value)):
            rows.append(FigureRow(label, None))
        else:
            rows.append(
                FigureRow(label, fmt.format(value, other) if control else fmt.format(value))
            )
    return rows


def health_path(checkpoint: str | Path) -> Path:
    """Where a checkpoint's health report is kept beside it: NAME.health.json for NAME.safetensors."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(checkpoint.stem + ".health.json")


def read_report(path: str | Path) -> HealthReport:
    """A report kept on disk (`HealthReport.to_dict` as JSON). OSError for an unreadable file,
    ValueError for one that is not a health report (JSON's own errors are ValueErrors)."""
    return HealthReport.from_dict(json.loads(Path(path).read_text()))


def _change(mse: float | None, own: float | None) -> float | None:
    if mse is None or own is None:
        return None
    return mse / own - 1 if own else math.nan


@functools.cache
def _kinds(cls: type) -> dict[str, type]:
    """Field name -> what its JSON value must be: bool, int, float, str, a group (a dataclass),
    or `object` for anything else (a list: taken as it is). Read from the annotations, so a
    subclass or a group gets its own."""
    hints = typing.get_type_hints(cls)
    kinds = {}
    for f in dataclasses.fields(cls):
        if not f.init:
            continue
        options = typing.get_args(hints[f.name]) or (hints[f.name],)
        known = [t for t in options if t in (bool, int, float, str) or dataclasses.is_dataclass(t)]
        kinds[f.name] = known[0] if known else object
    return kinds


def _build(cls: type, values: object, where: str) -> Any:
    """A `cls` (the report or a group of it) from a JSON object, every absent field None."""
    if not isinstance(values, dict):
        what = f"field {where[:-1]!r}" if where else "a health report"
        raise ValueError(f"{what} is a JSON object, not {type(values).__name__}")
    kinds = _kinds(cls)
    return cls(**{n: _typed(where + n, values.get(n), kind) for n, kind in kinds.items()})


def _typed(name: str, value: object, kind: type) -> object:
    if value is None or kind is object:
        return value
    if dataclasses.is_dataclass(kind):
        return _build(kind, value, name + ".")
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if kind in (str, bool) and isinstance(value, kind):
        return value
    if kind is float and number:
        return float(value)
    if kind is int and number and float(value).is_integer():
        return int(value)
    raise ValueError(f"health report field {name!r}: {value!r} is not {kind.__name__}")


# ----------------------------------------------------------------------------- verdicts
# Each takes a report and returns its Finding, or None when the report lacks a figure it needs.


def _given(report: HealthReport, *names: str) -> bool:
    return all(getattr(report, name) is not None for name in names)


def usage_verdict(r: HealthReport) -> Finding | None:
    needed = ("slots_alive", "memory_size", "effective_slots", "max_weight", "max_weight_bound")
    if not _given(r, *needed):
        return None
    collapsed = r.slots_alive < hl.ALIVE_SHARE * r.memory_size
    return Finding(
        "usage",
        not collapsed,
        f"{'collapsed' if collapsed else 'in use'}: {r.slots_alive} of {r.memory_size} slots ever "
        f"chosen; {r.effective_slots:.1f} effective slots per cell; largest weight "
        f"{r.max_weight:.3f} (the softmax allows {r.max_weight_bound:.3f})",
    )


def tuning_verdict(r: HealthReport) -> Finding | None:
    needed = ("nmi_position", "nmi_position_shuffled", "nmi_direction", "nmi_direction_shuffled")
    if not _given(r, *needed):
        return None
    pos, pos_shuf = r.nmi_position, r.nmi_position_shuffled
    direc, shuf = r.nmi_direction, r.nmi_direction_shuffled
    tuned = direc > shuf + hl.MARGIN
    # On clips with motion contexts the motion a slot may follow is also the family: a memory
    # whose slots follow the family more than the cell is not positional (`context_verdict`).
    f = r.family
    family = (
        f.nmi_family
        if f is not None
        and f.nmi_family is not None
        and f.nmi_family_shuffled is not None
        and f.nmi_family > f.nmi_family_shuffled + hl.MARGIN
        else None
    )
    motion = direc if family is None else max(direc, family)
    positional = pos > pos_shuf + hl.MARGIN and pos > motion
    if positional:
        word = "positional: slots follow cells, not motion"
    elif tuned:
        word = "motion-tuned: slots follow the direction of motion"
    elif family is not None:
        word = "family-tuned: slots follow the motion family more than the cell"
    else:
        word = "untuned: slots follow neither cells nor motion"
    with_family = "" if family is None else f"; with the motion family {family:.2f}"
    return Finding(
        "tuning",
        (tuned or family is not None) and not positional,
        f"{word} (NMI with the cell {pos:.2f}, shuffled {pos_shuf:.2f}; with the direction "
        f"{direc:.2f}, shuffled {shuf:.2f}{with_family})",
    )


def knowledge_verdict(r: HealthReport) -> Finding | None:
    if not _given(r, "probe_direction_readout", "probe_direction_query", "probe_chance"):
        return None
    acc, chance = r.probe_direction_readout, r.probe_chance
    knows = acc >= hl.INFORMED_PROBE
    word = "informed" if knows else "weak" if acc > chance + hl.MARGIN else "blind"
    return Finding(
        "knowledge",
        knows,
        f"{word}: a linear probe tells the direction from the readout {acc:.2f} of the time "
        f"(from the query {r.probe_direction_query:.2f}; chance {chance:.2f})",
    )


def use_verdict(r: HealthReport) -> Finding | None:
    if not _given(r, "mse_own", "mse_other_recall", "mse_uniform"):
        return None
    change, uniform = r.other_recall_change, r.uniform_change
    used = abs(change) >= hl.USED_CHANGE
    return Finding(
        "use",
        used,
        f"{'used' if used else 'ignored'}: another clip's recall changes the MSE by "
        f"{100 * change:+.1f} %, uniform addressing by {100 * uniform:+.1f} % "
        f"(own recall {r.mse_own:.1f})",
    )


def matching_verdict(r: HealthReport) -> Finding | None:
    if not _given(r, "query_spread_short", "query_spread_long", "mse_long_recall", "mse_own"):
        return None
    short, long = r.query_spread_short, r.query_spread_long
    gain = 1 - r.mse_long_recall / r.mse_own
    if long < hl.MIN_SPREAD and short < hl.MIN_SPREAD:
        word = "both encoders collapsed"
    elif short < max(hl.MIN_SPREAD, hl.SPREAD_SHARE * long):
        word = "collapsed matching encoder"
    else:
        word = "matching encoder alive"
    return Finding(
        "matching",
        word == "matching encoder alive",
        f"{word}: the short input's queries differ between clips by {short:.2f} (the long "
        f"window's by {long:.2f}); the long window's recall would change the MSE by "
        f"{-100 * gain:+.1f} %",
    )


def reader_verdict(r: HealthReport) -> Finding | None:
    """Does the predictor read the recall at all? Asked with the long window's recall, which
    tells the clips apart even when the short input's does not: if another clip's long recall
    changes the MSE, the predictor reads it, and an ignored short recall is the matching
    encoder's failure to recall the same thing, not the decoder's."""
    if not _given(r, "mse_long_other_recall", "mse_long_recall"):
        return None
    change = r.mse_long_other_recall / r.mse_long_recall - 1
    reads = abs(change) >= hl.USED_CHANGE
    text = (
        f"{'predictor reads the recall' if reads else 'predictor ignores the recall'}: another "
        f"clip's long-window recall changes the MSE by {100 * change:+.1f} % against the clip's "
        "own long-window recall"
    )
    if _given(r, "readout_clip_correlation", "readout_clip_correlation_shuffled"):
        text += (
            f"; the short input's readout carries correlation {r.readout_clip_correlation:.2f} "
            "of what tells clips apart in the long window's (another clip's: "
            f"{r.readout_clip_correlation_shuffled:.2f})"
        )
    return Finding("reader", reads, text)


def alignment_verdict(r: HealthReport) -> Finding | None:
    needed = ("alignment_top1", "alignment_top1_chance", "alignment_kl", "alignment_kl_chance")
    if not _given(r, *needed):
        return None
    aligned = r.alignment_top1 > r.alignment_top1_chance + hl.MARGIN
    return Finding(
        "alignment",
        aligned,
        f"{'aligned' if aligned else 'unaligned'}: the short input picks the long window's top "
        f"slot in {100 * r.alignment_top1:.0f} % of cells (another clip's: "
        f"{100 * r.alignment_top1_chance:.0f} %); KL {r.alignment_kl:.3f} nats (another clip's "
        f"{r.alignment_kl_chance:.3f})",
    )


def context_verdict(r: HealthReport) -> Finding | None:
    """Does the memory name the motion context (`hl.names_context`)?"""
    f = r.family
    needed = ("nmi_family", "nmi_family_shuffled", "nmi_cell", "probe_readout", "chance")
    if f is None or any(getattr(f, name, None) is None for name in needed):
        return None
    family = f"NMI {f.nmi_family:.2f}, shuffled {f.nmi_family_shuffled:.2f}"
    cell = f"NMI {f.nmi_cell:.2f}"
    truth = "" if f.probe_truth is None else f", from the true input motion {f.probe_truth:.2f}"
    probe = (
        f"the readout tells the family {f.probe_readout:.2f} of the time (chance {f.chance:.2f}"
        f"{truth})"
    )
    if hl.names_context(f.nmi_family, f.nmi_family_shuffled, f.nmi_cell):
        return Finding(
            "context",
            True,
            f"names the motion context: its top slot follows the family ({family}) more than "
            f"the cell ({cell}); {probe}",
        )
    if f.nmi_family <= f.nmi_family_shuffled + hl.MARGIN:
        word = f"does not name the motion context: its top slot ignores the family ({family})"
    else:
        word = (
            f"follows the cell more than the motion context: its top slot follows the cell "
            f"({cell}) more than the family ({family})"
        )
    return Finding("context", False, f"{word}; {probe}")


# The questions a report answers, in the order the CLI, the card and the dashboard say them.
VERDICTS: tuple[Callable[[HealthReport], Finding | None], ...] = (
    usage_verdict,
    tuning_verdict,
    knowledge_verdict,
    use_verdict,
    matching_verdict,
    reader_verdict,
    alignment_verdict,
    context_verdict,
)
