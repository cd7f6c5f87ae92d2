"""Two memories side by side: what each model's memory does over the same clips, and what differs
between them, said in words with the numbers it was drawn from.

A summary holds the health check's usage and tuning figures (`lmc.analysis.health`) measured on a
dataset pass (`lmc.analysis.dataset_pass`): slots alive, effective slots, and the NMI of the top
slot with the cell and with the true direction, each beside its shuffled control, and on clips
with motion contexts with the motion family (`lmc.analysis.families`). Stored health
reports (`lmc.analysis.health_report.HealthReport`) add what a pass cannot measure, since it
predicts no frame: how much another clip's recall changes the prediction, the direction probe and
the MSE. Each sentence
comes from its own function of the two sides; a sentence that cannot be drawn is None.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import numpy as np

from lmc.analysis import health as hl
from lmc.analysis.dataset_pass import DatasetPass
from lmc.analysis.families import labelled_cells
from lmc.analysis.health import names_context
from lmc.analysis.health_report import HealthReport

Names = tuple[str, str]  # how the sentences name the left and the right model
# Effective slots closer than this share of the larger value read as the same sharpness.
SAME_SHARPNESS = 0.05
# The fields of a stored health report that the sentences read.
REPORT_NUMBERS = ("clips", "mse_own", "mse_other_recall", "probe_direction_readout", "probe_chance")


@dataclass(frozen=True)
class MemorySummary:
    """One model's memory over a pass: `queries` (clips x cells) addressed a memory of
    `memory_size` slots; `slots_alive` were the top choice of at least one; `effective_slots` is
    the mean exp(entropy) of the addressing; `busiest_share` the top-1 share of the most chosen
    slot. NMI of the top slot with the cell (None for a single cell) and with the true direction
    of the moving cells (None without true motion), each beside the same with labels shuffled.
    On clips with motion contexts, over the cells whose family is known (`labelled_cells`): the
    NMI of the top slot with the family, shuffled, and with the cell over those same cells (the
    positional reading a named context must beat); None for clips without families."""

    queries: int
    memory_size: int
    slots_alive: int
    effective_slots: float
    busiest_share: float
    nmi_cell: float | None
    nmi_cell_shuffled: float | None
    nmi_direction: float | None
    nmi_direction_shuffled: float | None
    nmi_family: float | None = None
    nmi_family_shuffled: float | None = None
    nmi_family_cell: float | None = None

    @property
    def names_context(self) -> bool | None:
        """Whether its top slot follows the family more than its shuffle and the cell (None
        without families): `lmc.analysis.health.names_context`."""
        if self.nmi_family is None:
            return None
        return names_context(self.nmi_family, self.nmi_family_shuffled, self.nmi_family_cell)


def summarise(sample: DatasetPass, phase: str = "short", seed: int = 0) -> MemorySummary:
    """The summary of the "short" (inference) or "long" recall of a dataset pass."""
    weights = sample.phase(phase)["weights"]
    n, cells, size = weights.shape
    use = hl.usage(weights)
    top = weights.argmax(axis=-1)
    counts = np.bincount(top.reshape(-1), minlength=size)
    nmi_cell = nmi_cell_shuffled = nmi_dir = nmi_dir_shuffled = None
    if cells > 1:  # one cell (a global query) has no position for a slot to follow
        position = np.broadcast_to(np.arange(cells), (n, cells))
        nmi_cell = hl.nmi(top, position)
        nmi_cell_shuffled = hl.shuffled_nmi(top, position, seed=seed)
    if sample.direction is not None:
        moving = hl.moving_cells(sample.direction, sample.occupancy)
        if moving.sum() >= 2:
            direction = hl.direction_bin(sample.direction)[moving]
            nmi_dir = hl.nmi(top[moving], direction)
            nmi_dir_shuffled = hl.shuffled_nmi(top[moving], direction, seed=seed)
    family_figures = {}
    if sample.has_families:
        known = labelled_cells(sample.cell_family, sample.family_coverage)
        if known.sum() >= 2:
            family, slots = sample.cell_family[known], top[known]
            family_figures = dict(
                nmi_family=hl.nmi(slots, family),
                nmi_family_shuffled=hl.shuffled_nmi(slots, family, seed=seed),
                nmi_family_cell=hl.nmi(slots, np.broadcast_to(np.arange(cells), (n, cells))[known]),
            )
    return MemorySummary(
        queries=n * cells,
        memory_size=size,
        slots_alive=use.slots_alive,
        effective_slots=use.effective_slots,
        busiest_share=float(counts.max() / counts.sum()),
        nmi_cell=nmi_cell,
        nmi_cell_shuffled=nmi_cell_shuffled,
        nmi_direction=nmi_dir,
        nmi_direction_shuffled=nmi_dir_shuffled,
        **family_figures,
    )


def _of(a: str, b: str, size_a: int, size_b: int) -> str:
    """Two counts: 3 vs 87 of 100, or 3 of 100 vs 8 of 10 for memories of two sizes."""
    if size_a == size_b:
        return f"{a} vs {b} of {size_a}"
    return f"{a} of {size_a} vs {b} of {size_b}"


def _collapsed(summary: MemorySummary) -> bool:
    return summary.slots_alive < hl.ALIVE_SHARE * summary.memory_size


# ----------------------------------------------------------------------------- from two passes


def alive_sentence(a: MemorySummary, b: MemorySummary, names: Names) -> str:
    """How many slots each memory ever chooses first, and which uses more."""
    words = ["collapsed" if _collapsed(s) else "in use" for s in (a, b)]
    counts = _of(str(a.slots_alive), str(b.slots_alive), a.memory_size, b.memory_size)
    text = (
        f"Slots alive (ever a top choice): {counts} ({words[0]} vs {words[1]}, over the same "
        f"{a.queries:,} queries)"
    )
    more = b.slots_alive - a.slots_alive
    if more == 0:
        return text + " — both use as many slots."
    name = names[1] if more > 0 else names[0]
    return text + f" — {name} chooses {abs(more)} more slot{'s' if abs(more) > 1 else ''}."


def effective_sentence(a: MemorySummary, b: MemorySummary, names: Names) -> str:
    """The sharpness of the addressing: exp(entropy), S for uniform weights, 1 for one slot."""
    counts = _of(
        f"{a.effective_slots:.1f}", f"{b.effective_slots:.1f}", a.memory_size, b.memory_size
    )
    text = (
        f"Effective slots per query: {counts} (exp of the addressing's entropy: the memory size "
        "when uniform, 1 for one slot)"
    )
    larger = max(a.effective_slots, b.effective_slots)
    if abs(a.effective_slots - b.effective_slots) <= SAME_SHARPNESS * larger:
        return text + " — both address about as sharply."
    sharper = names[0] if a.effective_slots < b.effective_slots else names[1]
    return text + f" — {sharper} addresses more sharply."


def _tuning(
    what: str,
    values: tuple[float | None, float | None],
    shuffled: tuple[float | None, float | None],
    names: Names,
) -> str | None:
    """The NMI of the top slot with `what` on both sides, beside the shuffled controls; which
    side's slots follow it more, counted as the excess over the control (health.MARGIN)."""
    if None in values or None in shuffled:
        return None
    (va, vb), (sa, sb) = values, shuffled
    text = f"Top slot and the {what} (NMI): {va:.2f} vs {vb:.2f} (shuffled {sa:.2f} vs {sb:.2f})"
    excess_a, excess_b = va - sa, vb - sb
    if max(excess_a, excess_b) <= hl.MARGIN:
        return text + f" — neither model's slots follow the {what}."
    if abs(excess_a - excess_b) <= hl.MARGIN:
        return text + f" — both models' slots follow the {what} about as much."
    name = names[0] if excess_a > excess_b else names[1]
    return text + f" — {name}'s slots follow the {what} more."


def cell_sentence(a: MemorySummary, b: MemorySummary, names: Names) -> str | None:
    """Do the slots stand for positions? (None when a side has a single cell.)"""
    return _tuning(
        "cell", (a.nmi_cell, b.nmi_cell), (a.nmi_cell_shuffled, b.nmi_cell_shuffled), names
    )


def direction_sentence(a: MemorySummary, b: MemorySummary, names: Names) -> str | None:
    """Do the slots stand for motions? (None without the clips' true motion.)"""
    return _tuning(
        "true direction",
        (a.nmi_direction, b.nmi_direction),
        (a.nmi_direction_shuffled, b.nmi_direction_shuffled),
        names,
    )


def family_sentence(a: MemorySummary, b: MemorySummary, names: Names) -> str | None:
    """Do the slots stand for the motion context? The family's NMI beside its shuffle and the
    cell's over the same cells, and which memory names the context (None unless both passes
    ran over clips with motion contexts)."""
    if a.nmi_family is None or b.nmi_family is None:
        return None
    text = (
        f"Top slot and the motion family (NMI): {a.nmi_family:.2f} vs {b.nmi_family:.2f} "
        f"(shuffled {a.nmi_family_shuffled:.2f} vs {b.nmi_family_shuffled:.2f}; the cell, over "
        f"the same cells: {a.nmi_family_cell:.2f} vs {b.nmi_family_cell:.2f})"
    )
    named = [a.names_context, b.names_context]
    if all(named):
        return (
            text
            + " — both name the motion context: their top slot follows the family more than the cell."
        )
    if any(named):
        yes, no = (names[0], names[1]) if named[0] else (names[1], names[0])
        return (
            text + f" — {yes} names the motion context (its top slot follows the family more "
            f"than the cell); {no} does not."
        )
    return text + " — neither names the motion context."


# ----------------------------------------------------------------------------- from two reports


def _clips(a: HealthReport, b: HealthReport) -> str:
    if a.clips == b.clips:
        return f"{a.clips} test clips each"
    return f"{a.clips} vs {b.clips} test clips"


def _has(report: HealthReport | None, *keys: str) -> bool:
    return report is not None and all(getattr(report, k) is not None for k in keys)


def use_sentence(a: HealthReport | None, b: HealthReport | None, names: Names) -> str | None:
    """Does the prediction read the recall? Another clip's recall in every cell, against the
    model's own: a change of health.USED_CHANGE or more counts as read."""
    keys = ("mse_own", "mse_other_recall")
    if not (_has(a, *keys) and _has(b, *keys)):
        return None
    change = [r.other_recall_change for r in (a, b)]
    verdicts = [
        f"{name}'s prediction {'reads' if abs(c) >= hl.USED_CHANGE else 'ignores'} its recall"
        for name, c in zip(names, change, strict=True)
    ]
    return (
        f"Another clip's recall changes the MSE by {100 * change[0]:+.1f} % vs "
        f"{100 * change[1]:+.1f} % ({_clips(a, b)}) — {verdicts[0]}; {verdicts[1]}."
    )


def probe_sentence(a: HealthReport | None, b: HealthReport | None, names: Names) -> str | None:
    """How well a linear probe tells the direction (8 bins) from the readout."""
    keys = ("probe_direction_readout", "probe_chance")
    if not (_has(a, *keys) and _has(b, *keys)):
        return None
    pa, pb = a.probe_direction_readout, b.probe_direction_readout
    text = (
        f"A linear probe tells the direction from the readout {pa:.2f} vs {pb:.2f} of the time "
        f"(chance {a.probe_chance:.2f} vs {b.probe_chance:.2f})"
    )
    if abs(pa - pb) <= hl.MARGIN:
        return text + " — the readouts know the motion about as well."
    return text + f" — {names[0] if pa > pb else names[1]}'s readout knows the motion better."


def mse_sentence(a: HealthReport | None, b: HealthReport | None, names: Names) -> str | None:
    """The prediction error with the model's own recall (lower is better)."""
    if not (_has(a, "mse_own") and _has(b, "mse_own")):
        return None
    ma, mb = a.mse_own, b.mse_own
    text = (
        f"Prediction MSE with its own recall: {ma:.1f} vs {mb:.1f} per frame ({_clips(a, b)}; "
        "lower is better)"
    )
    if ma == mb:
        return text + " — the same error."
    better, worse = (ma, mb) if ma < mb else (mb, ma)
    name = names[0] if ma < mb else names[1]
    return text + f" — {name} predicts better, by {100 * (1 - better / worse):.0f} %."


def missing_reports_sentence(
    a: HealthReport | None, b: HealthReport | None, names: Names
) -> str | None:
    """Which side has no stored health report (so the report's sentences are left out)."""
    missing = [name for name, r in zip(names, (a, b), strict=True) if r is None]
    if not missing:
        return None
    who = " and ".join(missing)
    return (
        f"No stored health report for {who}, so whether the prediction reads the recall is not "
        "compared: measure it on the Memory health page."
    )


# ----------------------------------------------------------------------------- everything


def differences(
    a: MemorySummary,
    b: MemorySummary,
    names: Names,
    report_a: HealthReport | None = None,
    report_b: HealthReport | None = None,
) -> list[str]:
    """Every sentence that can be drawn, the passes' first, then the reports'."""
    sentences = [
        alive_sentence(a, b, names),
        effective_sentence(a, b, names),
        cell_sentence(a, b, names),
        direction_sentence(a, b, names),
        family_sentence(a, b, names),
        use_sentence(report_a, report_b, names),
        probe_sentence(report_a, report_b, names),
        mse_sentence(report_a, report_b, names),
        missing_reports_sentence(report_a, report_b, names),
    ]
    return [s for s in sentences if s is not None]


def recall_sentence(
    weights: tuple[np.ndarray, np.ndarray], names: Names, clip: int, cell: int
) -> str:
    """One cell's recall on both sides: each model's top slot, its weight above uniform and the
    effective slots of the cell's addressing (weights (S,) per side)."""
    parts = []
    for name, w in zip(names, weights, strict=True):
        w = np.asarray(w, dtype=np.float64)
        top = int(w.argmax())
        effective = float(hl.effective_slots(w))
        parts.append(
            f"{name}'s top slot is {top} (w − 1/S {w[top] - 1 / len(w):+.4f}, "
            f"{effective:.1f} effective slots of {len(w)})"
        )
    return f"Clip {clip}, cell {cell}: {parts[0]}; {parts[1]}."


# ----------------------------------------------------------------------------- as files


def _report_numbers(report: HealthReport | None) -> dict | None:
    """The numbers of REPORT_NUMBERS a report holds (None for no report)."""
    if report is None:
        return None
    return {k: getattr(report, k) for k in REPORT_NUMBERS if _has(report, k)}


def numbers(
    a: MemorySummary,
    b: MemorySummary,
    names: Names,
    report_a: HealthReport | None = None,
    report_b: HealthReport | None = None,
) -> list[dict]:
    """The figures the sentences of `differences` come from, one row per measure: {"measure":
    a field of MemorySummary, or "report: <key>" for a stored report's, names[0]: the left
    value, names[1]: the right one}; None where a side lacks it (a report's row only when
    either side has it)."""
    rows = [
        {"measure": f.name, names[0]: getattr(a, f.name), names[1]: getattr(b, f.name)}
        for f in fields(MemorySummary)
    ]
    kept = [_report_numbers(r) or {} for r in (report_a, report_b)]
    for key in REPORT_NUMBERS:
        if key in kept[0] or key in kept[1]:
            rows.append(
                {
                    "measure": f"report: {key}",
                    names[0]: kept[0].get(key),
                    names[1]: kept[1].get(key),
                }
            )
    return rows


def comparison(
    a: MemorySummary,
    b: MemorySummary,
    names: Names,
    report_a: HealthReport | None = None,
    report_b: HealthReport | None = None,
) -> dict:
    """What differs as one record of plain types (for JSON): the two names, the sentences, both
    summaries and the numbers of both stored reports (None for a side without one)."""
    return {
        "left": names[0],
        "right": names[1],
        "differences": differences(a, b, names, report_a, report_b),
        "summaries": {"left": asdict(a), "right": asdict(b)},
        "reports": {"left": _report_numbers(report_a), "right": _report_numbers(report_b)},
    }
