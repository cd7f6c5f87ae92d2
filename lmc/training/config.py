"""The training run's configuration: one dataclass, one override order.

Defaults live in `TrainConfig` only. A config file (`--config FILE`, JSON or TOML) uses the same
keys; flags given on the command line override the file. Unknown keys and values of the wrong type
fail with a message that lists the valid keys. The flag names of the authors' README are kept
exactly (`--img_size`, `--checkpoint_load`, ...), so their commands run unchanged.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any, get_type_hints

from lmc.cli import ArgumentParser
from lmc.config import QUERY_MODES, ModelConfig
from lmc.data.moving_mnist import MOTIONS
from lmc.device import check_device_name
from lmc.errors import ConfigError
from lmc.model import PARTS, parse_parts
from lmc.training.memory_terms import MemoryTerms
from lmc.training.step import LONG_WINDOWS

DATASET_PRESETS = {"movingmnist": "paper-mnist", "kth": "paper-kth"}
MAX_SEED = 2**32 - 1  # numpy's and the data generators' limit


@dataclass
class TrainConfig:
    # --- the authors' flags
    dataset: str = "movingmnist"
    train_data_dir: str | None = (
        None  # frame folders; None: Moving-MNIST from the built-in generator
    )
    valid_data_dir: str | None = None  # None: the built-in generated validation set
    checkpoint_save_dir: str | None = None  # alias of run_dir, as in the original
    checkpoint_load: bool = False  # initialise the weights from checkpoint_load_file
    checkpoint_load_file: str | None = None
    img_size: int | None = None  # None: the preset's
    img_channel: int | None = None
    memory_size: int | None = None
    short_len: int = 10
    long_len: int = 30
    out_len: int = 30
    batch_size: int = 128  # global batch, split evenly over the distributed processes
    lr: float = 2e-4
    iterations: int = 300_000
    iterations_warmup: int = 5_000
    print_freq: int = 1_000  # also the checkpoint interval, as in the original
    workers: int = 2
    # --- this project's additions
    preset: str | None = None  # None: paper-mnist or paper-kth by dataset
    # The generator's motion: standard (bounce only) | contexts (six families, one per digit,
    # lmc.data.motion_contexts); its validation set is the contexts' own.
    motion: str = "standard"
    seed: int = 1234
    device: str = "auto"  # auto: cuda if available, else cpu
    amp: str = "off"  # off | bf16 | fp16 (autocast, CUDA only)
    compile: bool = False
    resume: str | None = None  # auto | PATH of a training state
    # Start over in a run_dir that holds a run, deleting that run's files first (a fresh run is
    # otherwise refused there: it would overwrite the config and best model, cut the metrics).
    overwrite: bool = False
    val_every: int | None = None  # None: print_freq
    val_clips: int = 256
    run_dir: str | None = None  # None: checkpoint_save_dir, else runs/<dataset>-<time>
    long_window: str = (
        "anywhere"  # anywhere (published) | input: the long window ends with the input
    )
    alignment: str = "on"  # on: the two phases as published | off: one phase from the short input
    memory: bool = True  # False: the ConvLSTM predictor without memory
    query: str | None = None  # local | global | cell; None: the preset's
    temperature: float | None = None  # None: the preset's
    addressing: str | None = (
        None  # cosine | standardized; None: the preset's (cosine, as published)
    )
    query_padding: str | None = None  # zeros | replicate; None: the preset's (zeros, as published)
    predictor_frames: int | None = None  # the last N input frames the ConvLSTM reads; None/0: all
    # True: the memory feature also enters the ConvLSTM at every step (not published); None: the
    # preset's (False, as published)
    memory_recurrent: bool | None = None
    # Parts (lmc.model.PARTS, comma-separated) given fresh initial weights after checkpoint_load,
    # e.g. "memory.embedder" to reopen a memory path whose ReLUs a run has silenced.
    reinitialize: str = ""
    # Parts (lmc.model.PARTS, comma-separated) kept as they are through training: no gradient, not
    # in the optimizer; e.g. motion encoders taught the family elsewhere (not published).
    freeze: str = ""
    align_weight: float = 0.0  # > 0: an explicit query alignment term in phase 2 (not published)
    address_align_weight: float = 0.0  # > 0: KL(long || short) of the addressing in phase 2
    balance_weight: float = 0.0  # > 0: a slot-usage balance term in each phase (not published)
    readout_align_weight: float = 0.0  # > 0: the short readout pulled to the long one in phase 2
    clip_align_weight: float = 0.0  # > 0: the same for what tells the batch's clips apart
    matching_learns: str = "prediction"  # prediction (published) | alignment: from the terms only
    sample_clips: int = 4  # clips drawn in the PNG rollout strips
    model_card: str | None = None  # text stored in the checkpoints' metadata
    tensorboard: str | None = (
        None  # a folder: also write scalars, rollouts and slots for TensorBoard
    )

    def validate(self) -> None:
        choices = {
            "dataset": tuple(DATASET_PRESETS),
            "amp": ("off", "bf16", "fp16"),
            "alignment": ("on", "off"),
            "long_window": LONG_WINDOWS,
            "query": (None, *QUERY_MODES),
            "query_padding": (None, "zeros", "replicate"),
            "addressing": (None, "cosine", "standardized"),
            "motion": MOTIONS,
        }
        for name, valid in choices.items():
            if getattr(self, name) not in valid:
                raise ValueError(f"{name}={getattr(self, name)!r}: must be one of {valid}")
        for name in ("batch_size", "iterations", "print_freq", "val_clips", "short_len", "out_len"):
            if getattr(self, name) < 1:
                raise ValueError(f"{name}={getattr(self, name)}: must be at least 1")
        if self.val_every is not None and self.val_every < 1:
            raise ValueError(
                f"val_every={self.val_every}: must be at least 1 (leave it unset to validate "
                f"every print_freq={self.print_freq} iterations)"
            )
        for name in ("iterations_warmup", "workers", "sample_clips"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name}={getattr(self, name)}: must be at least 0")
        if not 0 <= self.seed <= MAX_SEED:
            raise ValueError(f"seed={self.seed}: must be between 0 and {MAX_SEED} (2**32 - 1)")
        check_device_name(self.device)
        if self.long_window == "input" and self.long_len > self.short_len:
            raise ValueError(
                f"long_window=input needs long_len <= short_len (got long_len={self.long_len}, "
                f"short_len={self.short_len}): the long window ends with the short input"
            )
        terms = self.memory_terms()  # checks each weight
        if terms.active and (not self.memory or self.alignment == "off"):
            raise ValueError(
                "align_weight, address_align_weight, balance_weight, readout_align_weight and "
                "clip_align_weight need "
                "the memory and the two phases (alignment on)"
            )
        if self.clip_align_weight and self.batch_size < 2:
            raise ValueError(
                f"clip_align_weight={self.clip_align_weight}: needs batch_size >= 2 "
                f"(got {self.batch_size}); it compares the clips of a batch"
            )
        if not (math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(f"lr={self.lr}: must be a finite number > 0")
        if self.motion != "standard" and (self.train_data_dir or self.dataset == "kth"):
            raise ValueError(
                f"motion={self.motion!r} is a setting of the built-in Moving-MNIST generator; "
                "it cannot apply to frame folders (--train_data_dir) or KTH"
            )
        if self.dataset == "kth" and not self.train_data_dir:
            raise ValueError(
                "dataset=kth needs --train_data_dir (make one with `python -m lmc.data kth RAW_DIR OUT_DIR`)"
            )
        for name in ("reinitialize", "freeze"):
            unknown = [p for p in self.parts(name) if p not in PARTS]
            if unknown:
                value = getattr(self, name)
                raise ValueError(f"{name}={value!r}: {unknown} not among {PARTS}")
        if self.reinitialize and not self.checkpoint_load:
            raise ValueError(
                f"reinitialize={self.reinitialize!r} needs --checkpoint_load True: a fresh run "
                "initialises every part anyway"
            )
        if self.predictor_frames is not None and self.predictor_frames > self.short_len:
            raise ValueError(
                f"predictor_frames={self.predictor_frames}: must be at most short_len="
                f"{self.short_len}"
            )
        if self.overwrite and self.resume:
            raise ValueError(
                f"overwrite=True starts the run over and resume={self.resume!r} continues it: "
                "pass one of them"
            )
        if self.checkpoint_load and not self.checkpoint_load_file:
            raise ValueError("--checkpoint_load True needs --checkpoint_load_file PATH")

    def parts(self, name: str) -> list[str]:
        """The comma-separated parts of the `reinitialize` or `freeze` setting."""
        return parse_parts(getattr(self, name))

    def reinitialize_parts(self) -> list[str]:
        return self.parts("reinitialize")

    def memory_terms(self) -> MemoryTerms:
        """The extra training terms of this run (all 0: the published recipe)."""
        return MemoryTerms(
            align_weight=self.align_weight,
            address_align_weight=self.address_align_weight,
            balance_weight=self.balance_weight,
            readout_align_weight=self.readout_align_weight,
            clip_align_weight=self.clip_align_weight,
            matching_learns=self.matching_learns,
        )

    def model_config(self) -> ModelConfig:
        """The model's config: the preset, then the flags that override it."""
        preset = self.preset or DATASET_PRESETS[self.dataset]
        overrides: dict[str, Any] = {"memory": self.memory}
        for ours, theirs in (
            ("image_size", "img_size"),
            ("image_channels", "img_channel"),
            ("memory_size", "memory_size"),
            ("query", "query"),
            ("temperature", "temperature"),
            ("query_padding", "query_padding"),
            ("addressing", "addressing"),
            ("predictor_frames", "predictor_frames"),
            ("memory_recurrent", "memory_recurrent"),
        ):
            if getattr(self, theirs) is not None:
                overrides[ours] = getattr(self, theirs)
        return ModelConfig.preset(preset, **overrides)

    @property
    def resolved_run_dir(self) -> str | None:
        return self.run_dir or self.checkpoint_save_dir

    @property
    def resolved_val_every(self) -> int:
        return self.val_every or self.print_freq

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_settings(cls, values: dict[str, Any], source: str = "settings") -> TrainConfig:
        """A validated config from a dict of TrainConfig keys (a file's, or a program's): the
        keys and types are checked, then the values, then the model config they resolve to."""
        try:
            config = cls(**coerce(values, source))
            config.validate()
            config.model_config()
        except (ValueError, TypeError) as err:
            raise ConfigError(str(err)) from None
        return config


# Settings a resumed run may change: where it writes, how long it runs, how often it reports, on
# what hardware, and the learning rate, which the run applies to the resumed optimizer (whose
# saved state holds the old one). The initial weights (checkpoint_load*) are replaced by the
# resumed ones anyway. Every other setting shapes the training itself and must match the run.
RESUME_MAY_CHANGE = (
    "resume",
    "run_dir",
    "checkpoint_save_dir",
    "checkpoint_load",
    "checkpoint_load_file",
    "reinitialize",
    "iterations",
    "print_freq",
    "val_every",
    "sample_clips",
    "workers",
    "device",
    "amp",
    "compile",
    "tensorboard",
    "model_card",
    "lr",
    "overwrite",  # how the run was started, not how it trains
)


def resume_changes(
    cfg: TrainConfig, saved: dict[str, Any], source: str
) -> dict[str, tuple[Any, Any]]:
    """{name: (saved value, value now)} of the settings in which `cfg` differs from a saved
    run's (a training state's `train_config`), `resume` itself left out. A difference in a
    setting outside RESUME_MAY_CHANGE raises ConfigError listing each one. A setting added to
    TrainConfig after the run was saved reads as its default there."""
    names = [f.name for f in dataclasses.fields(TrainConfig)]
    before = {**TrainConfig().to_dict(), **{k: v for k, v in saved.items() if k in names}}
    now = cfg.to_dict()
    changed = {k: (before[k], now[k]) for k in names if before[k] != now[k] and k != "resume"}
    refused = {k: v for k, v in changed.items() if k not in RESUME_MAY_CHANGE}
    if refused:
        details = ", ".join(f"{k} {old!r} there, {new!r} now" for k, (old, new) in refused.items())
        raise ConfigError(
            f"{source} was trained with other settings ({details}): resume with the run's own "
            "settings (its config.json) or train into a new run_dir. A resume may change only "
            + ", ".join(RESUME_MAY_CHANGE[1:-1])
        )
    return changed


def parse_bool(text: str) -> bool:
    """Strict booleans: True/False (any case) only. `argparse type=bool` would take "False" as True."""
    lowered = str(text).lower()
    if lowered == "true":
        return True
    if lowered == "false":
        return False
    raise argparse.ArgumentTypeError(f"expected True or False, got {text!r}")


def parse_switch(text: str) -> bool:
    """on/off, or the strict booleans."""
    if str(text).lower() in ("on", "off"):
        return str(text).lower() == "on"
    try:
        return parse_bool(text)
    except argparse.ArgumentTypeError:
        raise argparse.ArgumentTypeError(f"expected on or off, got {text!r}") from None


def _field_types() -> dict[str, Any]:
    return get_type_hints(TrainConfig)


def _base_type(hint: Any) -> type:
    args = [a for a in getattr(hint, "__args__", ()) if a is not type(None)]
    return args[0] if args else hint


def build_parser() -> argparse.ArgumentParser:
    parser = ArgumentParser(
        prog="python -m train.train",
        description="Train LMC-Memory with memory alignment learning (Lee et al., CVPR 2021).",
        argument_default=argparse.SUPPRESS,  # only flags actually given override the file
    )
    parser.add_argument("--config", help="JSON or TOML file with TrainConfig keys")
    for field in dataclasses.fields(TrainConfig):
        base = _base_type(_field_types()[field.name])
        flag = f"--{field.name}"
        default = field.default
        if base is bool:
            # --flag, --flag True|False, --no-flag; anything else is an error. The ablation
            # switch --memory also reads on|off, like --alignment.
            switch = field.name == "memory"
            parser.add_argument(
                flag,
                nargs="?",
                const=True,
                type=parse_switch if switch else parse_bool,
                metavar="on|off" if switch else "True|False",
                help=f"(default {default})",
            )
            parser.add_argument(
                f"--no-{field.name}", dest=field.name, action="store_const", const=False
            )
        elif field.name == "alignment":
            parser.add_argument(flag, choices=("on", "off"), help=f"(default {default})")
        else:
            parser.add_argument(flag, type=base, help=f"(default {default})")
    return parser


def load_config_file(path: str | Path) -> dict[str, Any]:
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"config file not found: {path}")
    text = path.read_text()
    try:
        values = tomllib.loads(text) if path.suffix == ".toml" else json.loads(text)
    # RecursionError: nested deeper than Python's stack (both parsers recurse); ValueError: a JSON
    # integer of more digits than Python converts
    except (ValueError, tomllib.TOMLDecodeError, RecursionError) as err:
        raise ValueError(f"config file {path} cannot be parsed: {err}") from None
    if not isinstance(values, dict):
        raise ValueError(f"config file {path} must hold a mapping of TrainConfig keys")
    return values


def coerce(values: dict[str, Any], source: str) -> dict[str, Any]:
    """Check keys and types of a file's values against TrainConfig."""
    hints = _field_types()
    unknown = sorted(set(values) - set(hints))
    if unknown:
        raise ValueError(
            f"{source}: unknown keys {unknown}; valid keys: {', '.join(sorted(hints))}"
        )
    out = {}
    for key, value in values.items():
        hint = hints[key]
        base = _base_type(hint)
        optional = type(None) in getattr(hint, "__args__", ())
        if value is None and optional:
            out[key] = None
        elif base is bool:
            if isinstance(value, str) and key == "memory" and value in ("on", "off"):
                value = value == "on"
            if not isinstance(value, bool):
                raise ValueError(f"{source}: {key} must be true or false, got {value!r}")
            out[key] = value
        elif base is float and isinstance(value, int | float) and not isinstance(value, bool):
            out[key] = float(value)
        elif isinstance(value, base) and not isinstance(value, bool):
            out[key] = value
        else:
            raise ValueError(f"{source}: {key} must be {base.__name__}, got {value!r}")
    return out


def parse_args(argv: list[str] | None = None) -> TrainConfig:
    """Defaults < config file < command-line flags; the result is validated. A bad flag, file
    or value raises ConfigError naming it."""
    args = vars(build_parser().parse_args(list(argv or [])))
    values: dict[str, Any] = {}
    config_path = args.pop("config", None)
    if config_path:
        try:
            values.update(coerce(load_config_file(config_path), str(config_path)))
        except ValueError as err:
            raise ConfigError(str(err)) from None
    values.update(args)
    try:
        config = TrainConfig(**values)
        config.validate()
        config.model_config()
    except (ValueError, TypeError) as err:
        raise ConfigError(str(err)) from None
    return config
