"""Convolutional LSTM cell and stack (Shi et al., 2015), as used by LMC-Memory (Lee et al., 2021).

The published cell has one convolution on the input and one on the hidden state, each with a
bias, gates split in the order (i, g, f, o), no peepholes. Convolution is linear, so
conv_x(x) + conv_h(h) equals one convolution over concat([x, h]) whose weight is the two weights
side by side and whose bias is the sum of the two biases. We compute that single convolution (one
kernel launch instead of two) but keep both biases as parameters: the parameter count matches the
published model, and since both biases always receive the same gradient, training follows the
same trajectory as the two-convolution form.

The zero state of the first step is not read: with h = 0 and c = 0 the step needs only the
input's half of the convolution, and no gradient flows into the hidden state's half.
"""

import math

import torch
import torch.nn.functional as F
from torch import nn


class ConvLSTMCell(nn.Module):
    def __init__(self, in_channels: int, hidden_channels: int, kernel_size: int = 3):
        super().__init__()
        self.in_channels = in_channels
        self.hidden_channels = hidden_channels
        self.padding = kernel_size // 2
        k = kernel_size
        self.weight = nn.Parameter(
            torch.empty(4 * hidden_channels, in_channels + hidden_channels, k, k)
        )
        self.bias_x = nn.Parameter(torch.empty(4 * hidden_channels))
        self.bias_h = nn.Parameter(torch.empty(4 * hidden_channels))
        self.reset_parameters()

    def reset_parameters(self) -> None:
        # Initialise each half as nn.Conv2d would initialise the separate convolution it replaces,
        # so a freshly built model starts from the same distribution as the published one.
        k2 = self.weight.shape[-1] * self.weight.shape[-2]
        for part, bias in (
            (self.weight[:, : self.in_channels], self.bias_x),
            (self.weight[:, self.in_channels :], self.bias_h),
        ):
            fan_in = part.shape[1] * k2
            bound = 1.0 / math.sqrt(fan_in)
            with torch.no_grad():
                # kaiming_uniform_(a=sqrt(5)) as in nn.Conv2d gives the same bound 1/sqrt(fan_in).
                part.uniform_(-bound, bound)
                bias.uniform_(-bound, bound)

    def forward(
        self, x: torch.Tensor, state: tuple[torch.Tensor, torch.Tensor] | None
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """x (N, in, H, W), state (h, c) each (N, hidden, H, W), or None for zeros -> new (h, c)."""
        bias = self.bias_x + self.bias_h
        if state is None:
            # h = 0 adds nothing to the gates and c = 0 nothing to the new cell state.
            gates = F.conv2d(x, self.weight[:, : self.in_channels], bias, padding=self.padding)
            i, g, _, o = gates.chunk(4, dim=1)
            c = torch.sigmoid(i) * torch.tanh(g)
        else:
            h, c = state
            gates = F.conv2d(torch.cat([x, h], dim=1), self.weight, bias, padding=self.padding)
            i, g, f, o = gates.chunk(4, dim=1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(c)
        return h, c


class ConvLSTMStack(nn.Module):
    """Layers of ConvLSTM cells; layer 0 reads the encoded frame, layer l reads h of layer l-1."""

    def __init__(self, in_channels: int, hidden_channels: int, num_layers: int):
        super().__init__()
        self.hidden_channels = hidden_channels
        self.cells = nn.ModuleList(
            ConvLSTMCell(in_channels if i == 0 else hidden_channels, hidden_channels)
            for i in range(num_layers)
        )

    def initial_state(self, like: torch.Tensor) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """Zero (h, c) per layer, on the device and dtype of `like` (N, C, H, W)."""
        n, _, height, width = like.shape
        zeros = like.new_zeros(n, self.hidden_channels, height, width)
        return [(zeros, zeros) for _ in self.cells]

    def forward(
        self, x: torch.Tensor, state: list[tuple[torch.Tensor, torch.Tensor]] | None
    ) -> list[tuple[torch.Tensor, torch.Tensor]]:
        """One time step through every layer; returns the new state (top layer last). state None:
        the zero state of the first step (`initial_state`), computed without reading zeros."""
        if state is None:
            state = [None] * len(self.cells)
        new_state = []
        for cell, layer_state in zip(self.cells, state, strict=True):
            h, c = cell(x, layer_state)
            new_state.append((h, c))
            x = h
        return new_state
