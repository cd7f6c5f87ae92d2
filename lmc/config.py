"""The model's configuration: one typed dataclass and its named presets.

Only the top-level model reads a `ModelConfig`; every block below it takes plain numbers. The
`paper-*` presets are the published LMC-Memory architecture (Lee et al., CVPR 2021, sec. 3 and the
authors' released configuration); `small` is a width-reduced model that trains on a CPU in a couple
of hours (the bundled demo) and `tiny` exists for tests.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Any

from lmc.errors import ConfigError

QUERY_MODES = ("local", "global", "cell")
# How the 3D motion encoders pad their convolutions. "zeros" is published; it lets a border cell's
# query see the frame's edge, so slots can end up standing for positions instead of motions.
QUERY_PADDINGS = ("zeros", "replicate")
OUTPUT_ACTIVATIONS = ("none", "sigmoid")
# How a query's cosines to the slots become weights. "cosine" is published: softmax(cos / T). A
# model can make that addressing uniform by narrowing its own cosines (all within a few hundredths
# of each other), whatever T. "standardized" divides each query's cosines by their spread over the
# slots first, softmax((cos - mean) / std / T), so the sharpness is set by T alone.
ADDRESSINGS = ("cosine", "standardized")

# Each 3D motion encoder halves time three times (after the first spatial-only pooling), so it
# needs at least 2**3 = 8 frame differences, i.e. 9 frames.
MOTION_TIME_POOLINGS = 3
MIN_MOTION_FRAMES = 2**MOTION_TIME_POOLINGS + 1
# Two stride-2 convolutions in the frame encoder and four spatial poolings in the motion encoder:
# the query grid is H/16 x W/16 and the memory feature H/4 x W/4, so sides must divide by 16.
SIDE_MULTIPLE = 16
# Bounds a file's config must keep before anything is allocated: far above every published model
# (4 layers, 64x64 to 128x128 frames, 34 M parameters), far below what exhausts a machine.
MAX_IMAGE_SIZE = 1024
MAX_LSTM_LAYERS = 64
MAX_STATE_BYTES = 2 * 2**30
MAX_PARAMETERS = 500_000_000
# Every width and count: far above any real layer (the widest published is 512), and small enough
# that no tensor's size overflows when the parameters are counted on the meta device and no sum
# here leaves a float, so a file's 10**400 gets this message rather than an OverflowError.
MAX_WIDTH = 10**8


def _finite_float(value: int | float) -> bool:
    try:
        return math.isfinite(value)
    except OverflowError:
        return False


@dataclass(frozen=True)
class ModelConfig:
    """Every architectural choice of the model; the defaults are the published Moving-MNIST model."""

    image_size: int = (
        64  # nominal training side; the model accepts any side that is a multiple of 16
    )
    image_channels: int = 1
    encoder_channels: tuple[int, int] = (64, 128)  # frame encoder widths (first pair, second pair)
    lstm_channels: int = 128
    lstm_layers: int = 4
    motion_channels: tuple[int, int, int] = (64, 128, 256)  # 3D encoder widths before memory_dim
    memory_dim: int = 512  # width of a query, of a memory slot and of a readout
    memory_size: int = 100  # S, the number of slots
    embedder_channels: int = 256  # middle width of the readout embedder
    feature_channels: int = 128  # channels of the memory feature F fed to the decoder
    attention_hidden: int = 16
    memory: bool = True  # False: the plain ConvLSTM predictor (the paper's no-memory baseline)
    # "local": one query per H/16 x W/16 cell of the encoder's map (published); "global": one query
    # for the whole frame (the paper's ablation); "cell": one query per 16x16 cell computed from
    # that cell's pixels alone, so it cannot see where the cell lies (not published).
    query: str = "local"
    temperature: float = 1.0  # softmax temperature of the addressing; 1.0 is the published model
    addressing: str = "cosine"  # "cosine" (published) or "standardized" (see ADDRESSINGS)
    query_padding: str = (
        "zeros"  # padding of the 3D motion encoders: "zeros" (published) or "replicate"
    )
    output_activation: str = "none"  # "none" (Moving-MNIST) or "sigmoid" (KTH)
    # How many of the last input frames the ConvLSTM predictor reads; 0: all (published). The
    # motion query always reads the whole input. With 1 the predictor cannot see any motion, so
    # everything it knows of the velocity must come through the memory's recall (not published).
    predictor_frames: int = 0
    # False (published): the memory feature F reaches the prediction only through the decoder's
    # gated fusion, so it can shape each frame but not the ConvLSTM's dynamics except through the
    # fed-back predictions. True: F also enters the first ConvLSTM layer beside the encoded frame
    # at every step (not published; `lmc.model.with_recurrent_memory` adds it to a trained model).
    memory_recurrent: bool = False

    def __post_init__(self) -> None:
        # JSON round trips turn tuples into lists; normalise so equality and hashing keep working.
        for name in ("encoder_channels", "motion_channels"):
            value = getattr(self, name)
            if not isinstance(value, (list, tuple)):
                raise ConfigError(
                    f"invalid ModelConfig: {name}={value!r}: must be a list of widths"
                )
            object.__setattr__(self, name, tuple(value))
        self.check_types()
        self.validate()

    def check_types(self) -> None:
        """Raise ConfigError for a field of the wrong type (a file may hold anything): counts are
        ints (not floats, not booleans), the temperature a finite number, `memory` a boolean."""
        problems = []
        counts = [f.name for f in dataclasses.fields(self) if f.type == "int"]
        for name in counts:
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool):
                problems.append(f"{name}={value!r}: must be an integer")
        for name in ("encoder_channels", "motion_channels"):
            for width in getattr(self, name):
                if not isinstance(width, int) or isinstance(width, bool):
                    problems.append(f"{name} width {width!r}: must be an integer")
        t = self.temperature
        # An int beyond a float's range (10**400 in a file) is no finite float either.
        if not isinstance(t, (int, float)) or isinstance(t, bool) or not _finite_float(t):
            problems.append(f"temperature={t!r}: must be a finite number")
        for name in ("memory", "memory_recurrent"):
            if not isinstance(getattr(self, name), bool):
                problems.append(f"{name}={getattr(self, name)!r}: must be true or false")
        for name in ("query", "query_padding", "addressing", "output_activation"):
            if not isinstance(getattr(self, name), str):
                problems.append(f"{name}={getattr(self, name)!r}: must be a string")
        if problems:
            raise ConfigError("invalid ModelConfig: " + "; ".join(problems))

    def validate(self) -> None:
        """Raise ConfigError naming the field, its value and the limit for any bad setting."""
        problems = []
        counts = [f.name for f in dataclasses.fields(self) if f.type == "int"]
        sizes = [(f"{name}={getattr(self, name)}", getattr(self, name)) for name in counts] + [
            (f"{name} width {width}", width)
            for name in ("encoder_channels", "motion_channels")
            for width in getattr(self, name)
        ]
        for label, value in sizes:
            if value > MAX_WIDTH:
                problems.append(f"{label}: must be at most {MAX_WIDTH:,}")
        if problems:  # the sums below would not fit a float
            raise ConfigError("invalid ModelConfig: " + "; ".join(problems))
        if self.image_size < SIDE_MULTIPLE or self.image_size % SIDE_MULTIPLE:
            problems.append(
                f"image_size={self.image_size}: must be a positive multiple of {SIDE_MULTIPLE}"
            )
        if self.image_size > MAX_IMAGE_SIZE:
            problems.append(f"image_size={self.image_size}: must be at most {MAX_IMAGE_SIZE}")
        if self.lstm_layers > MAX_LSTM_LAYERS:
            problems.append(f"lstm_layers={self.lstm_layers}: must be at most {MAX_LSTM_LAYERS}")
        state = self.recurrent_state_bytes()
        if state > MAX_STATE_BYTES:
            problems.append(
                f"the ConvLSTM state of one clip at {self.image_size}x{self.image_size} takes "
                f"{state / 2**30:.1f} GiB (lstm_layers {self.lstm_layers} x lstm_channels "
                f"{self.lstm_channels}): must be at most {MAX_STATE_BYTES / 2**30:.0f} GiB"
            )
        if self.image_channels not in (1, 3):
            problems.append(f"image_channels={self.image_channels}: must be 1 or 3")
        if len(self.encoder_channels) != 2:
            problems.append(f"encoder_channels={self.encoder_channels}: must hold 2 widths")
        if len(self.motion_channels) != 3:
            problems.append(f"motion_channels={self.motion_channels}: must hold 3 widths")
        for name in (
            "lstm_channels",
            "lstm_layers",
            "memory_dim",
            "memory_size",
            "embedder_channels",
            "feature_channels",
            "attention_hidden",
        ):
            if getattr(self, name) < 1:
                problems.append(f"{name}={getattr(self, name)}: must be at least 1")
        for name in ("encoder_channels", "motion_channels"):
            for width in getattr(self, name):
                if width < 1:
                    problems.append(f"{name} width {width}: must be at least 1")
        if self.query not in QUERY_MODES:
            problems.append(f"query={self.query!r}: must be one of {QUERY_MODES}")
        if self.query_padding not in QUERY_PADDINGS:
            problems.append(
                f"query_padding={self.query_padding!r}: must be one of {QUERY_PADDINGS}"
            )
        if self.addressing not in ADDRESSINGS:
            problems.append(f"addressing={self.addressing!r}: must be one of {ADDRESSINGS}")
        if self.predictor_frames < 0:
            problems.append(
                f"predictor_frames={self.predictor_frames}: must be at least 0 (0: every input frame)"
            )
        if self.memory_recurrent and not self.memory:
            problems.append("memory_recurrent=True: needs memory=True (no feature to feed in)")
        if not self.temperature > 0:
            problems.append(f"temperature={self.temperature}: must be > 0")
        if self.output_activation not in OUTPUT_ACTIVATIONS:
            problems.append(
                f"output_activation={self.output_activation!r}: must be one of {OUTPUT_ACTIVATIONS}"
            )
        if problems:
            raise ConfigError("invalid ModelConfig: " + "; ".join(problems))

    def recurrent_state_bytes(self) -> int:
        """float32 bytes of one clip's ConvLSTM gates and states at the nominal image size: the
        activation that grows with the depth and width of the stack, per frame."""
        cells = (self.image_size // 4) ** 2
        return 4 * cells * self.lstm_layers * self.lstm_channels * 6  # 4 gates, h and c

    @property
    def grid(self) -> tuple[int, int]:
        """Query grid (rows, cols) at the nominal image size."""
        if self.query == "global":
            return (1, 1)
        side = self.image_size // SIDE_MULTIPLE
        return (side, side)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> ModelConfig:
        """A named preset, optionally with some fields replaced."""
        if name not in PRESETS:
            raise ConfigError(f"unknown preset {name!r}; valid presets: {', '.join(PRESETS)}")
        return dataclasses.replace(PRESETS[name], **overrides)

    def replace(self, **changes: Any) -> ModelConfig:
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (tuples become lists)."""
        return {
            k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(self).items()
        }

    @classmethod
    def from_dict(cls, values: dict[str, Any]) -> ModelConfig:
        """Build from a dict with the same keys; unknown keys are an error listing the valid ones.
        ConfigError for anything a file may hold that is not a valid config."""
        if not isinstance(values, dict):
            raise ConfigError(
                f"a ModelConfig is a mapping of its fields, not {type(values).__name__} {values!r:.60}"
            )
        valid = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted((key for key in values if key not in valid), key=repr)
        if unknown:
            raise ConfigError(
                f"unknown ModelConfig keys {unknown}; valid keys: {', '.join(sorted(valid))}"
            )
        return cls(**values)


PRESETS: dict[str, ModelConfig] = {
    "paper-mnist": ModelConfig(),
    "paper-kth": ModelConfig(image_size=128, output_activation="sigmoid"),
    "small": ModelConfig(
        encoder_channels=(16, 32),
        lstm_channels=32,
        lstm_layers=4,
        motion_channels=(8, 16, 32),
        memory_dim=64,
        memory_size=100,
        embedder_channels=32,
        feature_channels=32,
        attention_hidden=8,
    ),
    "tiny": ModelConfig(
        image_size=32,
        encoder_channels=(4, 8),
        lstm_channels=8,
        lstm_layers=2,
        motion_channels=(2, 4, 8),
        memory_dim=8,
        memory_size=10,
        embedder_channels=8,
        feature_channels=8,
        attention_hidden=4,
    ),
}


def preset_names() -> list[str]:
    return list(PRESETS)
