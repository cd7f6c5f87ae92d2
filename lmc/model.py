"""LMC-Memory: a ConvLSTM video predictor that recalls long-term motion context from a memory.

Lee, Kim, Choi, Kim and Ro, "Video Prediction Recalling Long-term Motion Context via Memory
Alignment Learning", CVPR 2021 (arXiv 2104.00924). The public tensor layout is (B, T, C, H, W),
floats in [0, 1]. Losses and training phases live outside the model: the phase is an explicit
argument of `forward`, never a flag read from elsewhere.

Entry points for looking inside without hooks: `encode_motion`, `address`, `recall`, `rollout`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from einops import rearrange
from torch import nn

from lmc.clips import check_frames, query_grid
from lmc.config import MAX_PARAMETERS, MIN_MOTION_FRAMES, ModelConfig
from lmc.errors import InputError
from lmc.nn.convlstm import ConvLSTMStack
from lmc.nn.frames import FrameDecoder, FrameEncoder
from lmc.nn.fusion import AttentionFusion
from lmc.nn.memory import MemoryOverride, MemoryTrace, MotionMemory


@dataclass
class Prediction:
    """frames (B, out_len, C, H, W), raw decoder output (not clamped); memory: the recall trace
    (None for the no-memory model)."""

    frames: torch.Tensor
    memory: MemoryTrace | None
    # The queries (B, cells, D) still attached to the autograd graph, for training losses on the
    # addressing (the explicit alignment variant); None without memory. Analysis reads memory.query.
    query: torch.Tensor | None = None


class LMCMemoryModel(nn.Module):
    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        c = config
        width1, width2 = c.encoder_channels
        self.frame_encoder = FrameEncoder(c.image_channels, width1, width2)
        lstm_in = width2 + (c.feature_channels if c.memory_recurrent else 0)
        self.convlstm = ConvLSTMStack(lstm_in, c.lstm_channels, c.lstm_layers)
        decoder_in = c.lstm_channels + (c.feature_channels if c.memory else 0)
        self.frame_decoder = FrameDecoder(
            decoder_in, width1, width2, c.image_channels, sigmoid=c.output_activation == "sigmoid"
        )
        self.memory: MotionMemory | None = None
        self.fusion: AttentionFusion | None = None
        if c.memory:
            self.memory = MotionMemory(
                c.image_channels,
                c.motion_channels,
                c.memory_dim,
                c.memory_size,
                c.embedder_channels,
                c.feature_channels,
                query=c.query,
                temperature=c.temperature,
                query_padding=c.query_padding,
                addressing=c.addressing,
            )
            self.fusion = AttentionFusion(c.lstm_channels, c.feature_channels, c.attention_hidden)

    # ----------------------------------------------------------------------------- checks
    def check_frames(self, frames: torch.Tensor, name: str, min_frames: int = 1) -> None:
        """Raise InputError naming the value and the limit if `frames` is not a valid clip
        (B, T, C, H, W) for this model (`lmc.clips.check_frames`)."""
        check_frames(frames, channels=self.config.image_channels, min_frames=min_frames, name=name)

    def query_grid(self, height: int, width: int) -> tuple[int, int]:
        """The grid (rows, cols) of memory queries over frames of height x width: H/16 x W/16
        cells, or (1, 1) for the global-query ablation."""
        if self.config.query == "global":
            return (1, 1)
        return query_grid(height, width)

    def _check_phase(self, phase: int) -> None:
        if phase not in (1, 2):
            raise ValueError(f"phase={phase!r}: must be 1 (long-term context) or 2 (short input)")

    # ----------------------------------------------------------------------------- memory
    def _require_memory(self) -> MotionMemory:
        if self.memory is None:
            raise RuntimeError("this model was built with memory=False and has no memory to query")
        return self.memory

    def encode_motion(
        self, frames: torch.Tensor, phase: int = 2
    ) -> tuple[torch.Tensor, tuple[int, int]]:
        """frames (B, T, C, H, W) -> motion queries (B, cells, D) and their grid (rows, cols)."""
        self._check_phase(phase)
        self.check_frames(frames, "long" if phase == 1 else "short", MIN_MOTION_FRAMES)
        return self._require_memory().encode_motion(frames, phase)

    def address(
        self, query: torch.Tensor, memory_trainable: bool = False
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """queries (B, cells, D) -> cosine, weights (B, cells, S), readout (B, cells, D)."""
        return self._require_memory().address(query, memory_trainable)

    def recall(
        self,
        short: torch.Tensor | None = None,
        long: torch.Tensor | None = None,
        phase: int = 2,
        memory_override: MemoryOverride | None = None,
        memory_trainable: bool | None = None,
    ) -> tuple[MemoryTrace, torch.Tensor]:
        """Address the memory from `long` (phase 1) or `short` (phase 2).

        Returns the trace (detached) and the memory feature F (B, F, H/4, W/4), computed once per
        sequence and reused at every output step. The memory slots receive gradients in phase 1
        only, unless `memory_trainable` says otherwise (the one-phase "no alignment" ablation
        trains them from the short input).
        """
        self._check_phase(phase)
        trace, feature, _ = self._recall(short, long, phase, memory_override, memory_trainable)
        return trace, feature

    def _recall(
        self,
        short: torch.Tensor | None,
        long: torch.Tensor | None,
        phase: int,
        memory_override: MemoryOverride | None,
        memory_trainable: bool | None,
    ) -> tuple[MemoryTrace, torch.Tensor, torch.Tensor]:
        """`recall`, plus the queries still attached to the graph."""
        trainable = phase == 1 if memory_trainable is None else memory_trainable
        memory = self._require_memory()
        source = long if phase == 1 else short
        if source is None:
            raise ValueError(
                f"phase {phase} addresses the memory from {'long' if phase == 1 else 'short'}, which is None"
            )
        query, grid = self.encode_motion(source, phase)
        cosine, weights, readout = memory.address(query, trainable)
        overridden = None
        if memory_override is not None:
            weights, readout, overridden = memory.apply_override(
                weights, readout, memory_override, trainable
            )
        feature = memory.embed(readout, grid)
        trace = MemoryTrace(
            query=query.detach(),
            cosine=cosine.detach(),
            weights=weights.detach(),
            readout=readout.detach(),
            grid=(1, 1) if query.shape[1] == 1 else grid,
            phase=phase,
            overridden=overridden,
        )
        return trace, feature, query

    # ----------------------------------------------------------------------------- predictor
    def predictor_input(self, short: torch.Tensor) -> torch.Tensor:
        """The frames of `short` the ConvLSTM reads: the last `config.predictor_frames` (all if 0).

        The memory's query reads all of `short` regardless; only the predictor is limited.
        """
        k = self.config.predictor_frames
        if k == 0:
            return short
        if short.shape[1] < k:
            raise InputError(
                f"short has {short.shape[1]} frames; this model's predictor reads the last "
                f"predictor_frames={k}, so it needs at least {k}"
            )
        return short[:, -k:]

    def rollout(
        self, short: torch.Tensor, out_len: int, feature: torch.Tensor | None = None
    ) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Predict `out_len` frames after `short` (B, T, C, H, W).

        Steps 0 .. T+out_len-2: the encoder reads input frame t while t < T, then the model's own
        previous (unclamped) prediction; a frame is emitted at every step t >= T-1. Returns the
        frames (B, out_len, C, H, W) and the fusion gates (B, out_len, F), or None without memory.
        """
        if out_len < 1:
            raise ValueError(f"out_len={out_len}: must be at least 1")
        if (feature is None) != (self.fusion is None):
            raise ValueError("feature must be given exactly when the model has a memory")
        b, t = short.shape[:2]
        # All input frames go through the encoder in one batched call.
        encoded = rearrange(
            self.frame_encoder(rearrange(short, "b t c h w -> (b t) c h w")),
            "(b t) c h w -> b t c h w",
            b=b,
        )
        state = None  # zeros: the stack skips what would read them
        frames, gates = [], []
        for step in range(t + out_len - 1):
            x = encoded[:, step] if step < t else self.frame_encoder(frames[-1])
            if self.config.memory_recurrent:
                x = torch.cat([x, feature], dim=1)
            state = self.convlstm(x, state)
            if step < t - 1:
                continue
            h_top, c_top = state[-1]
            if self.fusion is not None:
                decoder_in, gate = self.fusion(h_top, c_top, feature)
                gates.append(gate)
            else:
                decoder_in = h_top
            frames.append(self.frame_decoder(decoder_in))
        return torch.stack(frames, dim=1), (torch.stack(gates, dim=1) if gates else None)

    def forward(
        self,
        short: torch.Tensor,
        long: torch.Tensor | None = None,
        out_len: int = 10,
        phase: int = 2,
        memory_override: MemoryOverride | None = None,
        memory_trainable: bool | None = None,
    ) -> Prediction:
        """short (B, T, C, H, W) in [0, 1] -> Prediction of out_len frames.

        phase 1 addresses the memory from `long` through the motion context encoder (training
        only); phase 2 from `short` through the motion matching encoder (training and inference).
        The slots learn in phase 1 and are exactly frozen in phase 2; `memory_trainable`
        overrides that (for the one-phase ablation).
        """
        self._check_phase(phase)
        if not isinstance(out_len, int) or out_len < 1:
            raise ValueError(f"out_len={out_len!r}: must be an integer of at least 1")
        min_short = MIN_MOTION_FRAMES if (self.memory is not None and phase == 2) else 1
        self.check_frames(short, "short", min_short)
        if self.memory is None:
            if memory_override is not None:
                raise ValueError("memory_override was given but this model has no memory")
            frames, _ = self.rollout(self.predictor_input(short), out_len)
            return Prediction(frames=frames, memory=None)
        if phase == 1:
            if long is None:
                raise ValueError("phase 1 needs the long-term sequence `long` (B, T_long, C, H, W)")
            self.check_frames(long, "long", MIN_MOTION_FRAMES)
            if long.shape[0] != short.shape[0] or long.shape[2:] != short.shape[2:]:
                raise ValueError(
                    f"long has shape {tuple(long.shape)} and short {tuple(short.shape)}; "
                    "batch, channels and frame size must match"
                )
        trace, feature, query = self._recall(short, long, phase, memory_override, memory_trainable)
        frames, gates = self.rollout(self.predictor_input(short), out_len, feature)
        trace.gates = gates.detach()
        return Prediction(frames=frames, memory=trace, query=query)

    @torch.inference_mode()
    def predict(
        self,
        short: torch.Tensor,
        out_len: int = 10,
        long: torch.Tensor | None = None,
        phase: int = 2,
        memory_override: MemoryOverride | None = None,
    ) -> Prediction:
        """`forward` in evaluation mode without autograd: what the CLI and dashboard call."""
        was_training = self.training
        self.eval()
        try:
            return self(
                short, long=long, out_len=out_len, phase=phase, memory_override=memory_override
            )
        finally:
            self.train(was_training)


def build_model(config: ModelConfig | str) -> LMCMemoryModel:
    """The model for a config or a preset name (`ModelConfig.preset` lists them).

    Every variant (full model, no-memory baseline, global query, temperature) is a config field,
    so one class serves them all.
    """
    if isinstance(config, str):
        config = ModelConfig.preset(config)
    if not isinstance(config, ModelConfig):
        raise TypeError(
            f"build_model takes a ModelConfig or a preset name, got {type(config).__name__}"
        )
    check_parameter_budget(config)
    return LMCMemoryModel(config)


def check_parameter_budget(
    config: ModelConfig, limit: int = MAX_PARAMETERS, reason: str = ""
) -> int:
    """The model's parameter count, from a build on the meta device (no memory is allocated);
    ValueError beyond `limit` (MAX_PARAMETERS, or less for a checkpoint file: see
    `lmc.weights.parameter_limit`, whose `reason` the message gives), so a small file cannot
    ask for a huge model."""
    with torch.device("meta"):
        count = sum(p.numel() for p in LMCMemoryModel(config).parameters())
    if count > limit:
        raise ValueError(
            f"invalid ModelConfig: {count:,} parameters: must be at most {limit:,}{reason} "
            f"(as float32 they would take {count * 4 / 1e9:.2f} GB)"
        )
    return count


# Parameter groups by top-level module, for counts and for the per-phase gradient checks.
PARTS = (
    "frame_encoder",
    "convlstm",
    "frame_decoder",
    "fusion",
    "memory.matching_encoder",
    "memory.context_encoder",
    "memory.embedder",
    "memory.slots",
)


def parameter_counts(model: LMCMemoryModel) -> dict[str, int]:
    """Parameters per part, plus `total` and `inference` (all but the context encoder, which only
    training phase 1 uses)."""
    counts = dict.fromkeys(PARTS, 0)
    for name, p in model.named_parameters():
        part = next(k for k in PARTS if name == k or name.startswith(k + "."))
        counts[part] += p.numel()
    counts = {k: v for k, v in counts.items() if v or not k.startswith(("memory", "fusion"))}
    counts["total"] = sum(p.numel() for p in model.parameters())
    counts["inference"] = counts["total"] - counts.get("memory.context_encoder", 0)
    return counts


def parse_parts(text: str) -> list[str]:
    """Comma-separated part names (a `--reinitialize` or `--freeze` value) as a list."""
    return [p.strip() for p in text.split(",") if p.strip()]


def _check_part(model: LMCMemoryModel, part: str) -> None:
    if part not in PARTS:
        raise ValueError(f"part {part!r}: must be one of {PARTS}")
    if part.startswith(("memory", "fusion")) and model.memory is None:
        raise ValueError(f"part {part!r}: this model was built with memory=False")


def freeze(model: LMCMemoryModel, parts: list[str]) -> None:
    """Keep the named parts (from PARTS) as they are through training: their parameters stop
    asking for gradients, so an optimizer built from the trainable ones never moves them (a
    motion query taught elsewhere, `lmc.experiments.query_capacity`; not published)."""
    for part in parts:
        _check_part(model, part)
    for part in parts:
        if part == "memory.slots":
            model._require_memory().slots.requires_grad_(False)
        else:
            model.get_submodule(part).requires_grad_(False)


def trainable_parameters(model: nn.Module) -> list[nn.Parameter]:
    """The parameters an optimizer should move: those `freeze` left asking for gradients."""
    return [p for p in model.parameters() if p.requires_grad]


def reinitialize(model: LMCMemoryModel, parts: list[str]) -> None:
    """Give the named parts (from PARTS) fresh initial weights, as a new model would have, leaving
    every other weight as it is: a way to reopen a path that training has shut (a ReLU that is
    zero for every input gets no gradient and never opens again)."""
    for part in parts:
        _check_part(model, part)
        if part == "memory.slots":
            with torch.no_grad():
                model._require_memory().slots.normal_()  # as built: torch.randn
            continue
        for module in model.get_submodule(part).modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()


def with_recurrent_memory(model: LMCMemoryModel) -> LMCMemoryModel:
    """A copy of `model` whose ConvLSTM also reads the memory feature F (`memory_recurrent`),
    computing the same function until it trains: the first layer's new input channels start at
    zero weight, every other weight is the model's."""
    if model.memory is None:
        raise ValueError("the model has no memory, so no feature to feed its ConvLSTM")
    if model.config.memory_recurrent:
        raise ValueError("the model's ConvLSTM already reads the memory feature")
    grown = build_model(model.config.replace(memory_recurrent=True))
    state = model.state_dict()
    key = "convlstm.cells.0.weight"
    old = state[key]
    width = model.convlstm.cells[0].in_channels  # the encoded frame's channels come first
    zeros = old.new_zeros(old.shape[0], model.config.feature_channels, *old.shape[2:])
    state[key] = torch.cat([old[:, :width], zeros, old[:, width:]], dim=1)
    grown.load_state_dict(state)
    return grown.to(next(model.parameters()).device).train(model.training)
