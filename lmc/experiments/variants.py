"""What an ablation compares: variants of the training run, and the budget they all share.

A `Variant` is a name and a few training-CLI settings that differ from the reference; a `Budget`
is everything that stays the same across variants (preset, frame size, clip lengths, batch,
iterations, learning rate, validation). The axes are the design choices of LMC-Memory (Lee et al.,
CVPR 2021): the memory itself, memory alignment learning (two training phases or one), the memory
query decomposition (one query per cell or one per frame), the memory size and the long-term
length, plus the addressing temperature, which the published model leaves at 1 (none).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass, field
from typing import Any

from lmc.config import MIN_MOTION_FRAMES
from lmc.training.config import TrainConfig

AXES = ("memory", "alignment", "query", "memory_size", "temperature", "long_len")

# The published design: every ablation variant changes exactly one of these settings. The
# long-term length is left to the budget, since it must fit in the budget's training clip.
REFERENCE = {
    "memory": True,
    "alignment": "on",
    "query": "local",
    "memory_size": 100,
    "temperature": 1.0,
}

# Values tried on each axis; those equal to the reference are the reference run itself.
AXIS_VALUES: dict[str, tuple[Any, ...]] = {
    "memory": (False,),
    "alignment": ("off",),
    "query": ("global",),
    "memory_size": (10, 50, 100, 200),
    "temperature": (1.0, 0.3, 0.1),
}

# Names for the one-value axes; the others are named "axis=value".
AXIS_NAMES = {
    ("memory", False): "no-memory",
    ("alignment", "off"): "no-alignment",
    ("query", "global"): "global-query",
}

# Settings a variant may not change: run_grid chooses them for every run.
RESERVED = ("run_dir", "checkpoint_save_dir", "seed", "resume")
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._=+-]*")


def _train_fields() -> tuple[str, ...]:
    return tuple(f.name for f in dataclasses.fields(TrainConfig))


@dataclass(frozen=True, init=False)
class Variant:
    """One arm of an ablation: `Variant("no-memory", memory=False)`.

    The name names the run directory (letters, digits and `._=+-`); the overrides are keys of the
    training config (`lmc.training.config.TrainConfig`), applied on top of the budget.
    """

    name: str
    overrides: dict[str, Any]

    def __init__(self, name: str, **overrides: Any):
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
            raise ValueError(
                f"variant name {name!r}: use letters, digits and . _ = + - (it names a folder)"
            )
        valid = _train_fields()
        unknown = sorted(set(overrides) - set(valid))
        if unknown:
            raise ValueError(
                f"variant {name!r}: unknown settings {unknown}; the ablation axes are "
                f"{', '.join(AXES)}, and any training flag is allowed: {', '.join(valid)}"
            )
        reserved = sorted(set(overrides) & set(RESERVED))
        if reserved:
            raise ValueError(
                f"variant {name!r}: {reserved} are set by run_grid for every run, not by a variant"
            )
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "overrides", dict(overrides))

    def __repr__(self) -> str:
        args = "".join(f", {k}={v!r}" for k, v in self.overrides.items())
        return f"Variant({self.name!r}{args})"


@dataclass(frozen=True)
class Budget:
    """The compute every variant of a grid gets, as training-CLI settings.

    Use a named budget and replace what you need: `Budget.tiny(iterations=100)`.
    `extra` holds any further training flags (`amp`, `compile`, `train_data_dir`, ...).
    """

    name: str
    preset: str
    img_size: int
    short_len: int
    out_len: int
    long_len: int
    batch_size: int
    iterations: int
    lr: float
    iterations_warmup: int = 0
    val_every: int | None = None  # None: print_freq; each validation is a point of the curves
    val_clips: int = 256
    print_freq: int = 1_000  # also the checkpoint interval
    sample_clips: int = 2
    workers: int = 0
    device: str = "auto"
    extra: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not NAME_PATTERN.fullmatch(self.name):
            raise ValueError(
                f"budget name {self.name!r}: use letters, digits and . _ = + - (it names a folder)"
            )
        if not MIN_MOTION_FRAMES <= self.long_len <= self.clip_len:
            raise ValueError(
                f"long_len={self.long_len}: must be between {MIN_MOTION_FRAMES} and "
                f"short_len + out_len = {self.clip_len}"
            )

    @property
    def clip_len(self) -> int:
        return self.short_len + self.out_len

    @classmethod
    def tiny(cls, **changes: Any) -> Budget:
        """A smoke-scale grid: the `tiny` preset at 32x32, 60 iterations of 8 clips, about 10 s a
        run, under two minutes per seed for the whole `ablation_grid` on one CPU core. It shows
        the machinery, not the paper's effects: no variant learns much in 60 iterations."""
        budget = cls(
            name="tiny",
            preset="tiny",
            img_size=32,
            short_len=10,
            out_len=6,
            long_len=12,
            batch_size=8,
            iterations=60,
            lr=1e-3,
            val_every=15,
            val_clips=32,
            print_freq=30,
        )
        return dataclasses.replace(budget, **changes)

    @classmethod
    def cpu_demo(cls, **changes: Any) -> Budget:
        """The bundled demo model's recipe (`small` preset, 64x64, 10 -> 10 with a 20-frame long
        window, lr 1e-3) cut to 600 iterations of 8 clips: minutes per variant on a CPU, an evening
        for the whole grid. Enough for the memory variants to start to differ."""
        budget = cls(
            name="cpu_demo",
            preset="small",
            img_size=64,
            short_len=10,
            out_len=10,
            long_len=20,
            batch_size=8,
            iterations=600,
            lr=1e-3,
            val_every=100,
            val_clips=128,
            print_freq=100,
        )
        return dataclasses.replace(budget, **changes)

    @classmethod
    def screen(cls, **changes: Any) -> Budget:
        """The memory study's screening budget: the bundled demo's recipe (`small` preset, 64x64,
        10 -> 10 with a 20-frame long window, batch 16, lr 1e-3) for 500 iterations, validated
        every 100 on 256 clips: about 45 minutes a variant on a 2-core CPU."""
        budget = cls(
            name="screen500",
            preset="small",
            img_size=64,
            short_len=10,
            out_len=10,
            long_len=20,
            batch_size=16,
            iterations=500,
            lr=1e-3,
            val_every=100,
            val_clips=256,
            print_freq=100,
            sample_clips=2,
        )
        return dataclasses.replace(budget, **changes)

    @classmethod
    def contexts(cls, **changes: Any) -> Budget:
        """The motion-context study (docs/memory-health.md): Moving-MNIST whose digits follow one
        of six motion families (`lmc.data.motion_contexts`), the `small` preset at 64x64,
        10 -> 20 with a 30-frame long window (the published 10 -> 30 cut by a third for the CPU),
        batch 16, lr 1e-3, 2,000 iterations, a checkpoint every 50 and a validation every 250
        on 128 clips: about a day a memory variant on the 2-core CPU beside other work."""
        budget = cls(
            name="contexts",
            preset="small",
            img_size=64,
            short_len=10,
            out_len=20,
            long_len=30,
            batch_size=16,
            iterations=2_000,
            lr=1e-3,
            val_every=250,
            val_clips=128,
            print_freq=50,
            sample_clips=2,
            extra={"motion": "contexts"},
        )
        return dataclasses.replace(budget, **changes)

    @classmethod
    def paper(cls, **changes: Any) -> Budget:
        """The published Moving-MNIST recipe: paper-mnist preset, 10/30/30, batch 128, Adam 2e-4,
        300,000 iterations with 5,000 of warm-up. For GPUs (about a week on 4 GPUs per run)."""
        budget = cls(
            name="paper",
            preset="paper-mnist",
            img_size=64,
            short_len=10,
            out_len=30,
            long_len=30,
            batch_size=128,
            iterations=300_000,
            lr=2e-4,
            iterations_warmup=5_000,
            val_every=5_000,
            val_clips=256,
            print_freq=1_000,
            sample_clips=4,
            workers=2,
        )
        return dataclasses.replace(budget, **changes)

    def train_settings(self) -> dict[str, Any]:
        """The training-CLI settings of this budget (`extra` last, so it may override)."""
        values = dataclasses.asdict(self)
        values.pop("name")
        extra = values.pop("extra")
        return {**{k: v for k, v in values.items() if v is not None}, **extra}

    def long_len_values(self) -> tuple[int, ...]:
        """The long-term lengths an ablation tries: the short input's length and the whole clip."""
        return tuple(sorted({max(self.short_len, MIN_MOTION_FRAMES), self.clip_len}))


def standard_variants() -> list[Variant]:
    """The paper's main comparison: the full model against no memory, no memory alignment
    (one phase) and one global query instead of the decomposed local ones."""
    reference = Variant("full", **REFERENCE)
    return [reference] + [
        Variant(AXIS_NAMES[(axis, value)], **{**REFERENCE, axis: value})
        for axis in ("memory", "alignment", "query")
        for value in AXIS_VALUES[axis]
    ]


def memory_study_variants() -> list[Variant]:
    """What might wake a collapsed memory (docs/memory-health.md): the published design, a sharper
    addressing, queries that cannot see the frame's border, an explicit alignment of the short
    input's queries to the long window's (at two weights), the alignment with the sharper
    addressing, and the "live" recipes: a sharp addressing kept from hoarding by a slot-usage
    balance term, the short input's addressing pulled towards the long window's, replicate
    padding (`lmc.training.memory_terms`), at two temperatures; a long window that ends with the
    input (nothing of the future in phase 1's recall); and a standardized addressing that the
    model cannot flatten, with the matching encoder learning from the prediction loss (published)
    or from the alignment term alone; and that addressing with a predictor that reads only the
    last input frame, so every bit of motion must come through the recall."""
    live = dict(query_padding="replicate", balance_weight=0.1, address_align_weight=1.0)
    standardized = dict(
        addressing="standardized", temperature=0.3, balance_weight=0.1, address_align_weight=1.0
    )
    return [
        Variant("full"),
        Variant("temp0.1", temperature=0.1),
        Variant("replicate", query_padding="replicate"),
        Variant("align1", align_weight=1.0),
        Variant("align0.1", align_weight=0.1),
        Variant("align1-temp0.1", align_weight=1.0, temperature=0.1),
        Variant("live-temp0.1", temperature=0.1, **live),
        Variant("live-temp0.3", temperature=0.3, **live),
        Variant(
            "input-window",
            long_window="input",
            long_len=10,
            temperature=0.2,
            balance_weight=0.1,
        ),
        Variant("standardized", **standardized),
        Variant("standardized-malign", matching_learns="alignment", **standardized),
        Variant("predictor1", predictor_frames=1, **standardized),
    ]


def contexts_study_variants() -> list[Variant]:
    """The motion-context study: the published design, the best recipe of the memory study so far
    (a standardized addressing at T 0.3 with the balance and addressing-alignment terms), and the
    same predictor without a memory, the twin every memory is measured against."""
    return [
        Variant("full"),
        Variant(
            "standardized",
            addressing="standardized",
            temperature=0.3,
            balance_weight=0.1,
            address_align_weight=1.0,
        ),
        Variant("no-memory", memory=False),
    ]


def ablation_grid(
    budget: Budget,
    axes: tuple[str, ...] = AXES,
    values: dict[str, tuple[Any, ...]] | None = None,
) -> list[Variant]:
    """The reference ("full", the published design) and, for each axis, one variant per value
    that differs from it, changing that one setting only.

    values: replaces the tried values of some axes, e.g. `{"memory_size": (25, 400)}`. The
    long_len axis defaults to `budget.long_len_values()`, and its reference is `budget.long_len`.
    """
    unknown = [a for a in axes if a not in AXES]
    if unknown:
        raise ValueError(f"unknown ablation axes {unknown}; valid axes: {', '.join(AXES)}")
    values = dict(values or {})
    bad = sorted(set(values) - set(AXES))
    if bad:
        raise ValueError(f"values for unknown axes {bad}; valid axes: {', '.join(AXES)}")
    reference = {**REFERENCE, "long_len": budget.long_len}
    tried = {**AXIS_VALUES, "long_len": budget.long_len_values(), **values}
    variants = [Variant("full", **REFERENCE)]
    for axis in axes:
        for value in tried[axis]:
            if value == reference[axis]:
                continue
            name = AXIS_NAMES.get((axis, value), f"{axis}={value}")
            variants.append(Variant(name, **{**REFERENCE, axis: value}))
    return variants
