"""The 3D-CNN motion encoder of LMC-Memory (Lee et al., CVPR 2021, sec. 3.2).

It reads frame differences (N, C, T-1, H, W) and gives a query map (N, D, 1, H/16, W/16): six
3x3x3 convolutions with ReLU, one spatial-only and three spatio-temporal max poolings, then an
average over what is left of time. An `nn.Sequential` whose indices follow the published layer
order, so the authors' parameter names map one to one. `padding_mode` is "zeros" as published;
"replicate" (an ablation) hides the frame's border from the queries.
"""

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
