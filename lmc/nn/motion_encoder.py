"""The 3D-CNN motion encoder of LMC-Memory (Lee et al., CVPR 2021, sec. 3.2).

It reads frame differences (N, C, T-1, H, W) and gives a query map (N, D, 1, H/16, W/16): six
3x3x3 convolutions with ReLU, one spatial-only and three spatio-temporal max poolings, then an
average over what is left of time. An `nn.Sequential` whose indices follow the published layer
order, so the authors' parameter names map one to one. `padding_mode` is "zeros" as published;
"replicate" (an ablation) hides the frame's border from the queries.

Without autograd (analysis, evaluation, the dataset pass) the same function runs a faster way on
a CPU, measured by `python -m lmc.bench cpu --tasks pass`: activations in channels_last_3d, the
layout oneDNN's 3-D convolutions prefer; max pooling as the max of strided slices, which skips the
indices `max_pool3d_with_indices` computes for a backward pass (8x faster on the 2-core CPU);
ReLU in place. With autograd the layers run as they are, so the gradient is the published one
(max pooling sends it to the first maximum of each window).
"""

import torch
from torch import nn


class MotionEncoder(nn.Sequential):
    def __init__(
        self,
        in_channels: int,
        width1: int,
        width2: int,
        width3: int,
        out_channels: int,
        padding_mode: str = "zeros",
    ):
        def conv(cin: int, cout: int) -> nn.Conv3d:
            return nn.Conv3d(cin, cout, 3, padding=1, padding_mode=padding_mode)

        super().__init__(
            conv(in_channels, width1),
            nn.ReLU(),
            nn.MaxPool3d((1, 2, 2)),
            conv(width1, width2),
            nn.ReLU(),
            nn.MaxPool3d((2, 2, 2)),
            conv(width2, width3),
            nn.ReLU(),
            conv(width3, width3),
            nn.ReLU(),
            nn.MaxPool3d((2, 2, 2)),
            conv(width3, out_channels),
            nn.ReLU(),
            conv(out_channels, out_channels),
            nn.ReLU(),
            nn.MaxPool3d((2, 2, 2)),
            nn.AdaptiveAvgPool3d((1, None, None)),
        )

    def forward(self, diffs: torch.Tensor) -> torch.Tensor:
        if torch.is_grad_enabled() and (
            diffs.requires_grad or any(p.requires_grad for p in self.parameters())
        ):
            return super().forward(diffs)
        x = diffs.contiguous(memory_format=torch.channels_last_3d)
        for layer in self:
            if isinstance(layer, nn.ReLU):
                x = torch.relu_(x)
            elif isinstance(layer, nn.MaxPool3d) and _plain_pool(layer):
                x = strided_max(x, layer.kernel_size)
            else:
                x = layer(x)
        return x.contiguous()


def _plain_pool(pool: nn.MaxPool3d) -> bool:
    kernel = pool.kernel_size
    return (
        isinstance(kernel, tuple)
        and set(kernel) <= {1, 2}
        and pool.stride == kernel
        and pool.padding == 0
        and pool.dilation == 1
        and not pool.ceil_mode
        and not pool.return_indices
    )


def strided_max(x: torch.Tensor, kernel: tuple[int, int, int]) -> torch.Tensor:
    """`max_pool3d(x, kernel)` for kernels of 1 or 2 per dimension (stride = kernel, no
    padding, a trailing odd slice dropped): the max of the even and odd slices, dimension by
    dimension. The values are max_pool3d's exactly (NaN propagates the same way)."""
    for dim, k in zip((2, 3, 4), kernel, strict=True):
        if k == 1:
            continue
        if k != 2:
            raise ValueError(f"strided_max: kernel {kernel}: each size must be 1 or 2")
        even = x.shape[dim] // 2 * 2
        x = torch.maximum(
            x.narrow(dim, 0, even).unfold(dim, 2, 2).select(-1, 0),
            x.narrow(dim, 0, even).unfold(dim, 2, 2).select(-1, 1),
        )
    return x
