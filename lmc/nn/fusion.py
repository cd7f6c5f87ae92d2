"""Attention fusion of the memory feature into the predictor (Lee et al., CVPR 2021, eq. 6).

a = sigmoid(W2 relu(W1 gap([c_top ; F]))): a channel gate on the memory feature F computed from
the top ConvLSTM layer's *cell* state and F itself. Indices 2 and 4 of the Sequential hold the two
linear layers, as in the published model.
"""

import torch
from torch import nn


class AttentionFusion(nn.Module):
    def __init__(self, cell_channels: int, feature_channels: int, hidden: int):
        super().__init__()
        self.gate = nn.Sequential(
            nn.AdaptiveAvgPool2d(1),
            nn.Flatten(),
            nn.Linear(cell_channels + feature_channels, hidden),
            nn.ReLU(),
            nn.Linear(hidden, feature_channels),
            nn.Sigmoid(),
        )

    def forward(
        self, h_top: torch.Tensor, c_top: torch.Tensor, feature: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """h_top, c_top (N, hidden, h, w), feature (N, F, h, w) ->
        decoder input (N, hidden + F, h, w) and the gate (N, F)."""
        gate = self.gate(torch.cat([c_top, feature], dim=1))
        fused = torch.cat([h_top, gate[:, :, None, None] * feature], dim=1)
        return fused, gate
