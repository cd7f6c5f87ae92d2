"""The faster ways of computing the same function (issue 14) give the published function's values
and gradients: the ConvLSTM's first step from the zero state, the motion encoder without
autograd, and the allocator settings applied at import."""

import os
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F

from lmc import build_model
from lmc.nn.convlstm import ConvLSTMCell
from lmc.nn.motion_encoder import MotionEncoder, strided_max


@pytest.mark.parametrize("requires_grad", [True, False])
def test_zero_state_step_equals_reading_zeros(requires_grad):
    torch.manual_seed(1)
    cell = ConvLSTMCell(5, 7)
    x = torch.randn(2, 5, 6, 6, requires_grad=requires_grad)
    zeros = torch.zeros(2, 7, 6, 6)
    h0, c0 = cell(x, (zeros, zeros))
    h1, c1 = cell(x, None)
    assert torch.allclose(h0, h1, atol=1e-6) and torch.allclose(c0, c1, atol=1e-6)
    if requires_grad:
        params = [x, *cell.parameters()]
        g0 = torch.autograd.grad((h0.square().sum() + c0.sum()), params)
        g1 = torch.autograd.grad((h1.square().sum() + c1.sum()), params)
        for a, b in zip(g0, g1, strict=True):
            assert torch.allclose(a, b, rtol=1e-5, atol=1e-6)
        # The zero state reads no h: the weight's h-half gets exactly no gradient.
        assert g1[1][:, 5:].abs().max() == 0


def test_rollout_gradients_match_the_zero_state_form():
    """A whole phase-1 loss: the model's gradients against the same model stepping from an
    explicit zero state through plain F.conv2d (the published form of the cell)."""
    torch.manual_seed(2)
    model = build_model("tiny")
    clip = torch.rand(2, 12, 1, model.config.image_size, model.config.image_size)
    short, long = clip[:, :9], clip

    def loss():
        return model(short, long=long, out_len=3, phase=1).frames.square().mean()

    fast = torch.autograd.grad(loss(), list(model.parameters()), allow_unused=True)
    stack = model.convlstm
    original = type(stack).forward

    def published(self, x, state):
        if state is None:
            state = self.initial_state(x)
        out = []
        for cell, (h, c) in zip(self.cells, state, strict=True):
            gates = F.conv2d(
                torch.cat([x, h], 1), cell.weight, cell.bias_x + cell.bias_h, padding=1
            )
            i, g, f, o = gates.chunk(4, 1)
            c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
            h = torch.sigmoid(o) * torch.tanh(c)
            out.append((h, c))
            x = h
        return out

    type(stack).forward = published
    try:
        slow = torch.autograd.grad(loss(), list(model.parameters()), allow_unused=True)
    finally:
        type(stack).forward = original
    for (name, _), a, b in zip(model.named_parameters(), fast, slow, strict=True):
        if a is None or b is None:  # phase 1 does not use the matching encoder
            assert a is None and b is None and name.startswith("memory.matching_encoder"), name
            continue
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6), name


@pytest.mark.parametrize("kernel", [(1, 2, 2), (2, 2, 2), (2, 1, 2)])
def test_strided_max_is_max_pool3d(kernel):
    torch.manual_seed(3)
    x = torch.randn(2, 3, 7, 9, 6)  # odd sizes: the trailing slice is dropped
    x[0, 0, 0, 0, 0] = float("nan")
    expected = F.max_pool3d(x, kernel)
    got = strided_max(x, kernel)
    assert got.shape == expected.shape
    assert torch.equal(torch.isnan(got), torch.isnan(expected))
    assert torch.equal(got.nan_to_num(), expected.nan_to_num())


def test_strided_max_rejects_other_kernels():
    with pytest.raises(ValueError, match="must be 1 or 2"):
        strided_max(torch.zeros(1, 1, 4, 4, 4), (3, 2, 2))


@pytest.mark.parametrize("padding_mode", ["zeros", "replicate"])
def test_motion_encoder_without_autograd_is_bit_for_bit(padding_mode):
    torch.manual_seed(4)
    encoder = MotionEncoder(1, 2, 3, 4, 5, padding_mode=padding_mode)
    # Quantised frames tie often, which is where pooling implementations could differ.
    diffs = (torch.rand(2, 1, 9, 32, 32) * 4).floor() / 4
    published = encoder(diffs)  # autograd on: the layers as they are
    assert published.requires_grad
    with torch.inference_mode():
        fast = encoder(diffs)
    assert torch.equal(fast, published.detach())
    assert fast.is_contiguous()


def test_import_lmc_leaves_malloc_alone_and_a_command_line_sets_it():
    """`import lmc` changes nothing outside lmc; a command line (`lmc.cli.run`) sets the three
    mallopt parameters on Linux with glibc (mallopt returned 1 for each). Their effect on speed
    is measured by `python -m lmc.bench cpu --tasks pass`."""
    if not sys.platform.startswith("linux") or os.environ.get("LMC_MALLOC") == "system":
        pytest.skip("glibc's malloc settings: Linux only, unless LMC_MALLOC=system")
    code = (
        "import lmc, lmc.allocator as a, lmc.cli; before = a._applied; "
        "lmc.cli.run(lambda argv: None, [], prog='p'); print(before, a._applied)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["None", "True"]


def test_lmc_malloc_system_leaves_malloc_alone():
    code = "import lmc.allocator as a, lmc; print(a.keep_freed_memory())"
    env = dict(os.environ, LMC_MALLOC="system")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(("stride", "output_padding"), [(1, 0), (2, 1)])
def test_decoder_transposed_convolution_is_torchs(stride, output_padding):
    from torch import nn

    from lmc.nn.frames import ConvTranspose2d

    torch.manual_seed(5)
    ours = ConvTranspose2d(6, 4, 3, stride=stride, padding=1, output_padding=output_padding)
    theirs = nn.ConvTranspose2d(6, 4, 3, stride=stride, padding=1, output_padding=output_padding)
    theirs.load_state_dict(ours.state_dict())  # same parameter names and shapes
    x = torch.randn(2, 6, 8, 8, requires_grad=True)
    a, b = ours(x), theirs(x)
    assert a.shape == b.shape and torch.allclose(a, b, atol=1e-5)
    grad = torch.randn_like(a)
    ga = torch.autograd.grad(a, (x, ours.weight, ours.bias), grad)
    gb = torch.autograd.grad(b, (x, theirs.weight, theirs.bias), grad)
    for g1, g2 in zip(ga, gb, strict=True):
        assert torch.allclose(g1, g2, rtol=1e-5, atol=1e-5)


def test_rollout_without_autograd_is_bit_for_bit():
    """The ConvLSTM's in-place gates (no autograd) give exactly the autograd path's frames."""
    torch.manual_seed(6)
    model = build_model("tiny").eval()
    size = model.config.image_size
    short = torch.rand(2, 9, 1, size, size)
    with_grad = model(short, out_len=4).frames
    assert with_grad.requires_grad
    with torch.inference_mode():
        without = model(short, out_len=4).frames
    assert torch.equal(without, with_grad.detach())
