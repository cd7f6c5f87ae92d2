"""Per-frame encoder and decoder of the LMC-Memory predictor (Lee et al., CVPR 2021, sec. 3.1).

Both are `nn.Sequential` so their parameter names (`0.weight`, `2.weight`, ...) follow the layer
order of the published model, activations included, which keeps checkpoint import a renaming.
"""

import torch
import torch.nn.functional as F
from torch import nn


class ConvTranspose2d(nn.ConvTranspose2d):
    """nn.ConvTranspose2d, same parameters and function; at stride 1 computed as the convolution
    it equals (the kernel flipped, in and out channels swapped, padding k - 1 - p), which oneDNN
    runs 2-3x faster on a CPU than its transposed-convolution path (`python -m lmc.bench cpu`)."""

    def forward(self, x: torch.Tensor, output_size=None) -> torch.Tensor:
        plain = (
            self.stride == (1, 1)
            and self.output_padding == (0, 0)
            and self.dilation == (1, 1)
            and self.groups == 1
            and self.padding_mode == "zeros"
            and output_size is None
        )
        if not plain:
            return super().forward(x, output_size)
        kh, kw = self.kernel_size
        weight = self.weight.flip(-1, -2).transpose(0, 1)
        padding = (kh - 1 - self.padding[0], kw - 1 - self.padding[1])
        return F.conv2d(x, weight, self.bias, padding=padding)


class FrameEncoder(nn.Sequential):
    """(N, C, H, W) -> (N, width2, H/4, W/4): two pairs of 3x3 convolutions, the first of each pair
    with stride 2, every one followed by ELU."""

    def __init__(self, in_channels: int, width1: int, width2: int):
        super().__init__(
            nn.Conv2d(in_channels, width1, 3, stride=2, padding=1),
            nn.ELU(),
            nn.Conv2d(width1, width1, 3, stride=1, padding=1),
            nn.ELU(),
            nn.Conv2d(width1, width2, 3, stride=2, padding=1),
            nn.ELU(),
            nn.Conv2d(width2, width2, 3, stride=1, padding=1),
            nn.ELU(),
        )


class FrameDecoder(nn.Sequential):
    """(N, in_channels, H/4, W/4) -> (N, C, H, W): the encoder mirrored with transposed convolutions.

    The last layer has no activation for Moving-MNIST and a sigmoid for KTH, as published; no
    clamping happens here (metrics clamp, the rollout feeds back the raw prediction).
    """

    def __init__(
        self, in_channels: int, width1: int, width2: int, out_channels: int, sigmoid: bool
    ):
        layers = [
            ConvTranspose2d(in_channels, width2, 3, stride=1, padding=1),
            nn.ELU(),
            ConvTranspose2d(width2, width1, 3, stride=2, padding=1, output_padding=1),
            nn.ELU(),
            ConvTranspose2d(width1, width1, 3, stride=1, padding=1),
            nn.ELU(),
            ConvTranspose2d(width1, out_channels, 3, stride=2, padding=1, output_padding=1),
        ]
        if sigmoid:
            layers.append(nn.Sigmoid())
        super().__init__(*layers)
