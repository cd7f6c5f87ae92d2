"""The long-term motion context memory of LMC-Memory (Lee et al., CVPR 2021, sec. 3.2-3.3).

A parameter matrix of S slots x D is addressed by motion queries: every cell of the motion
encoder's H/16 x W/16 query map is an independent D-dimensional query (memory query
decomposition). Addressing is cosine similarity followed by a softmax with no temperature in the
published model; the readout blends the *un-normalised* slots. The readouts, back in their grid,
are embedded by two transposed convolutions into the memory feature F (H/4 x W/4).

Two motion encoders of the same architecture address the same memory: the context encoder reads
the long-term sequence (training phase 1), the matching encoder the short input (phase 2 and
inference). In phase 2 the memory is read through `detach()`, so it receives no gradient at all
and an optimizer leaves it exactly as it was (no momentum step on zero gradients).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F
from einops import rearrange
from torch import nn

from lmc.config import SIDE_MULTIPLE as CELL  # the side of one query cell, in pixels
from lmc.nn.motion_encoder import MotionEncoder


@dataclass
class MemoryOverride:
    """Replace what the memory recalls: addressing `weights` (B or 1, cells, S) or the `readout`
    itself (B or 1, cells, D), for the cells where `cells` (bool, (cells,)) is True (all if None).

    Use it to ask "what would the model predict if it recalled slot k here", see `slot`.
    """

    weights: torch.Tensor | None = None
    readout: torch.Tensor | None = None
    cells: torch.Tensor | None = None

    def __post_init__(self) -> None:
        if (self.weights is None) == (self.readout is None):
            raise ValueError("MemoryOverride needs exactly one of weights= or readout=")

    @classmethod
    def slot(cls, slot: int, num_cells: int, memory_size: int, cells=None) -> MemoryOverride:
        """Recall slot `slot` alone (a one-hot addressing) in the chosen cells (all if None)."""
        if not 0 <= slot < memory_size:
            raise ValueError(f"slot={slot}: must be in 0 .. {memory_size - 1}")
        weights = torch.zeros(1, num_cells, memory_size)
        weights[..., slot] = 1.0
        mask = None
        if cells is not None:
            mask = torch.zeros(num_cells, dtype=torch.bool)
            mask[torch.as_tensor(cells, dtype=torch.long)] = True
        return cls(weights=weights, cells=mask)


@dataclass
class MemoryTrace:
    """What the memory did for one batch, all tensors detached.

    query (B, cells, D); cosine and weights (B, cells, S); readout (B, cells, D); grid (rows, cols)
    of the cells in row-major order; phase 1 (context encoder on the long sequence) or 2 (matching
    encoder on the short input); gates (B, out_len, F) the attention fusion gate at each output
    step (set by the rollout); overridden (cells,) bool, True where a MemoryOverride replaced the
    recall (weights/readout then hold what was used, cosine what the query itself addressed).
    """

    query: torch.Tensor
    cosine: torch.Tensor
    weights: torch.Tensor
    readout: torch.Tensor
    grid: tuple[int, int]
    phase: int
    gates: torch.Tensor | None = None
    overridden: torch.Tensor | None = None

    @property
    def num_cells(self) -> int:
        return self.query.shape[1]


class MotionMemory(nn.Module):
    def __init__(
        self,
        image_channels: int,
        motion_channels: tuple[int, int, int],
        memory_dim: int,
        memory_size: int,
        embedder_channels: int,
        feature_channels: int,
        query: str,
        temperature: float,
        query_padding: str = "zeros",
        addressing: str = "cosine",
    ):
        super().__init__()
        self.query = query
        self.temperature = temperature
        self.standardized = addressing == "standardized"
        slots = torch.empty(memory_size, memory_dim)
        if not slots.is_meta:  # torch.randn's values; on the meta device normal_ imports sympy
            slots.normal_()
        self.slots = nn.Parameter(slots)
        self.matching_encoder = MotionEncoder(
            image_channels, *motion_channels, memory_dim, padding_mode=query_padding
        )
        self.context_encoder = MotionEncoder(
            image_channels, *motion_channels, memory_dim, padding_mode=query_padding
        )
        # Both encoders start from the same weights, as published.
        self.context_encoder.load_state_dict(self.matching_encoder.state_dict())
        self.embedder = nn.Sequential(
            nn.ConvTranspose2d(
                memory_dim, embedder_channels, 3, stride=2, padding=1, output_padding=1
            ),
            nn.ReLU(),
            nn.ConvTranspose2d(
                embedder_channels, feature_channels, 3, stride=2, padding=1, output_padding=1
            ),
            nn.ReLU(),
        )

    @property
    def memory_size(self) -> int:
        return self.slots.shape[0]

    def encode_motion(
        self, frames: torch.Tensor, phase: int
    ) -> tuple[torch.Tensor, tuple[int, int]]:
        """frames (B, T, C, H, W) -> queries (B, cells, D) and the grid (rows, cols) they tile.

        The encoder reads first-order differences of the raw frames; phase 1 uses the context
        encoder, phase 2 the matching encoder.
        """
        encoder = self.context_encoder if phase == 1 else self.matching_encoder
        diffs = rearrange(frames[:, 1:] - frames[:, :-1], "b t c h w -> b c t h w")
        if self.query == "cell":
            return self._encode_cells(encoder, diffs)
        query_map = encoder(diffs)[:, :, 0]  # (B, D, H/16, W/16)
        grid = (query_map.shape[-2], query_map.shape[-1])
        if self.query == "global":
            # The paper's ablation: one query for the whole frame instead of one per cell.
            return query_map.mean(dim=(-2, -1))[:, None, :], grid
        return rearrange(query_map, "b d h w -> b (h w) d"), grid

    @staticmethod
    def _encode_cells(
        encoder: nn.Module, diffs: torch.Tensor
    ) -> tuple[torch.Tensor, tuple[int, int]]:
        """One query per 16x16 cell from that cell's pixels alone (query="cell", not published).

        The published encoder's receptive field spans several cells and its zero padding marks
        the frame's border, so a cell's query can tell where the cell is; cut into cells first,
        the query sees only the motion inside its own cell, the same way in every cell.
        """
        rows, cols = diffs.shape[-2] // CELL, diffs.shape[-1] // CELL
        cells = rearrange(diffs, "b c t (gh ph) (gw pw) -> (b gh gw) c t ph pw", ph=CELL, pw=CELL)
        query = encoder(cells)[:, :, 0, 0, 0]  # (B * cells, D)
        return rearrange(query, "(b n) d -> b n d", n=rows * cols), (rows, cols)

    def address(
        self, query: torch.Tensor, trainable: bool
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """query (B, cells, D) -> cosine, weights (B, cells, S) and readout (B, cells, D).

        With trainable=False the slots are read through detach(): an exact freeze.
        """
        slots = self.slots if trainable else self.slots.detach()
        cosine = F.normalize(query, dim=-1) @ F.normalize(slots, dim=-1).T
        logits = cosine
        if self.standardized:
            # Each query's cosines in units of their own spread over the slots (ADDRESSINGS).
            centred = cosine - cosine.mean(-1, keepdim=True)
            logits = centred / centred.pow(2).mean(-1, keepdim=True).sqrt().clamp_min(1e-6)
        weights = torch.softmax(logits / self.temperature, dim=-1)
        return cosine, weights, weights @ slots

    def apply_override(
        self,
        weights: torch.Tensor,
        readout: torch.Tensor,
        override: MemoryOverride,
        trainable: bool,
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """Return (weights, readout, overridden mask) with the override's cells replaced."""
        b, cells, size = weights.shape
        mask = override.cells
        if mask is None:
            mask = torch.ones(cells, dtype=torch.bool)
        mask = mask.to(device=weights.device, dtype=torch.bool)
        if mask.shape != (cells,):
            raise ValueError(
                f"MemoryOverride.cells has shape {tuple(mask.shape)}; expected ({cells},)"
            )
        slots = self.slots if trainable else self.slots.detach()
        if override.weights is not None:
            new_weights = override.weights.to(weights)
            _check_override_shape("weights", new_weights, b, cells, size)
            new_weights = new_weights.expand(b, cells, size)
            new_readout = new_weights @ slots
            weights = torch.where(mask[None, :, None], new_weights, weights)
        else:
            new_readout = override.readout.to(readout)
            _check_override_shape("readout", new_readout, b, cells, readout.shape[-1])
            new_readout = new_readout.expand_as(readout)
            # The weights that produced an injected readout are unknown: mark them NaN.
            weights = torch.where(
                mask[None, :, None], torch.full_like(weights, float("nan")), weights
            )
        readout = torch.where(mask[None, :, None], new_readout, readout)
        return weights, readout, mask

    def embed(self, readout: torch.Tensor, grid: tuple[int, int]) -> torch.Tensor:
        """readout (B, cells, D) -> memory feature F (B, F, 4*rows, 4*cols).

        A global readout (one cell) is tiled over the grid, so F keeps the size the decoder needs.
        """
        rows, cols = grid
        if readout.shape[1] == 1 and rows * cols > 1:
            readout = readout.expand(-1, rows * cols, -1)
        return self.embedder(rearrange(readout, "b (h w) d -> b d h w", h=rows, w=cols))


def _check_override_shape(name: str, value: torch.Tensor, b: int, cells: int, width: int) -> None:
    if value.dim() != 3 or value.shape[0] not in (1, b) or value.shape[1:] != (cells, width):
        raise ValueError(
            f"MemoryOverride.{name} has shape {tuple(value.shape)}; expected ({b} or 1, {cells}, {width})"
        )
