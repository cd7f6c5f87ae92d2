"""lmc.training.memory_terms: the extra terms that keep the memory alive, value by value."""

import copy
import math

import pytest
import torch

from lmc.training import (
    ClipWindows,
    MemoryTerms,
    addressing_alignment_loss,
    clip_readout_alignment_loss,
    readout_alignment_loss,
    train_step,
    usage_balance_loss,
)


def test_usage_balance_is_zero_when_even_and_log_s_when_one_slot_takes_all():
    s = 5
    even = torch.eye(s).reshape(1, s, s)  # five queries, each on its own slot
    assert usage_balance_loss(even).item() == pytest.approx(0.0, abs=1e-6)
    one = torch.zeros(2, 3, s)
    one[..., 2] = 1.0
    assert usage_balance_loss(one).item() == pytest.approx(math.log(s), rel=1e-5)
    # Uniform weights per query are balanced too: the term forbids hoarding, not blending.
    assert usage_balance_loss(torch.full((2, 3, s), 1 / s)).item() == pytest.approx(0, abs=1e-6)
    # Half the batch on slot 0, half on slot 1: log S - log 2.
    half = torch.zeros(1, 4, s)
    half[0, :2, 0] = 1
    half[0, 2:, 1] = 1
    assert usage_balance_loss(half).item() == pytest.approx(math.log(s) - math.log(2), rel=1e-5)


def test_addressing_alignment_is_the_kl_from_long_to_short_and_only_moves_short():
    long = torch.tensor([[[0.7, 0.2, 0.1]]])
    short = torch.tensor([[[0.2, 0.3, 0.5]]], requires_grad=True)
    expected = sum(
        p * math.log(p / q) for p, q in zip([0.7, 0.2, 0.1], [0.2, 0.3, 0.5], strict=True)
    )
    loss = addressing_alignment_loss(short, long.requires_grad_())
    assert loss.item() == pytest.approx(expected, rel=1e-5)
    loss.backward()
    assert long.grad is None and short.grad is not None
    assert addressing_alignment_loss(long, long).item() == pytest.approx(0, abs=1e-6)


def test_readout_alignment_is_relative_to_the_long_readout_and_only_moves_short():
    long = torch.tensor([[[3.0, 4.0], [0.0, 0.0]]], requires_grad=True)  # norms^2 25 and 0
    short = torch.tensor([[[0.0, 4.0], [1.0, 0.0]]], requires_grad=True)  # distances^2 9 and 1
    loss = readout_alignment_loss(short, long)
    assert loss.item() == pytest.approx((9 + 1) / 2 / (25 / 2), rel=1e-6)
    loss.backward()
    assert long.grad is None and short.grad is not None
    # Recalling nothing costs 1; recalling exactly the long readout costs 0.
    assert readout_alignment_loss(torch.zeros(1, 2, 2), long).item() == pytest.approx(1.0)
    assert readout_alignment_loss(long, long).item() == pytest.approx(0.0, abs=1e-7)


def test_clip_alignment_compares_what_tells_clips_apart():
    # Two clips, one cell: the long readouts differ by +-1 around (5, 0) (variance 1 per clip).
    long = torch.tensor([[[6.0, 0.0]], [[4.0, 0.0]]], requires_grad=True)
    # The same deviations around another mean: aligned, whatever the shared part.
    assert clip_readout_alignment_loss(long + 7, long).item() == pytest.approx(0.0, abs=1e-6)
    # One readout for both clips tells nothing apart: 1.
    same = torch.tensor([[[5.0, 3.0]], [[5.0, 3.0]]])
    assert clip_readout_alignment_loss(same, long).item() == pytest.approx(1.0)
    # Deviations (0, +-1) against (+-1, 0): distance^2 2 per clip over variance 1.
    short = torch.tensor([[[0.0, 1.0]], [[0.0, -1.0]]], requires_grad=True)
    loss = clip_readout_alignment_loss(short, long)
    assert loss.item() == pytest.approx(2.0)
    loss.backward()
    assert long.grad is None and short.grad is not None
    with pytest.raises(ValueError, match="batch of 1"):
        clip_readout_alignment_loss(short[:1], long[:1])


@pytest.mark.parametrize(
    "field",
    [
        "align_weight",
        "address_align_weight",
        "balance_weight",
        "readout_align_weight",
        "clip_align_weight",
    ],
)
@pytest.mark.parametrize("value", [-0.1, float("nan"), float("inf")])
def test_memory_terms_refuse_bad_weights_by_name(field, value):
    with pytest.raises(ValueError, match=f"{field}="):
        MemoryTerms(**{field: value})


def test_train_step_reports_each_term_and_keeps_the_slots_frozen_in_phase_2(tiny_model):
    torch.manual_seed(0)
    clip = torch.rand(2, 13, 1, 32, 32)
    opt = torch.optim.Adam(tiny_model.parameters(), lr=1e-2)
    terms = MemoryTerms(
        address_align_weight=1.0,
        balance_weight=0.5,
        readout_align_weight=1.0,
        clip_align_weight=1.0,
    )
    slots = []
    original_step = opt.step

    def spy():
        slots.append(tiny_model.memory.slots.detach().clone())
        original_step()

    opt.step = spy
    losses = train_step(tiny_model, opt, clip, ClipWindows(10, 3, 12), 1, terms=terms)
    assert set(losses) == {
        "phase1",
        "phase2",
        "balance1",
        "balance2",
        "address_align",
        "readout_align",
        "clip_align",
    }
    assert all(math.isfinite(v) and v >= 0 for v in losses.values())
    assert 0 <= losses["balance1"] <= math.log(tiny_model.config.memory_size) + 1e-6
    # Phase 2's step (the second) left the slots exactly where phase 1's step put them.
    assert torch.equal(slots[1], tiny_model.memory.slots.detach())
    assert not torch.equal(slots[0], slots[1])


def test_balance_term_spreads_a_hoarded_memory(tiny_model):
    """From a memory where one slot takes every query, a few steps with the term spread the
    batch's addressing over more slots than the same steps without it."""
    torch.manual_seed(0)
    clip = torch.rand(4, 13, 1, 32, 32)
    with torch.no_grad():
        q, _ = tiny_model.encode_motion(clip[:, 1:13], phase=1)
        tiny_model.memory.slots[0] = 5 * q.mean((0, 1)) / q.mean((0, 1)).norm()
    tiny_model.memory.temperature = 0.1
    start = {k: v.clone() for k, v in tiny_model.state_dict().items()}

    def balance():
        with torch.no_grad():
            q, _ = tiny_model.encode_motion(clip[:, 1:13], phase=1)
            _, w, _ = tiny_model.address(q)
        return usage_balance_loss(w).item()

    after = {}
    for weight in (0.0, 1.0):
        tiny_model.load_state_dict(start)
        opt = torch.optim.Adam(tiny_model.parameters(), lr=1e-2)
        for _ in range(15):
            train_step(
                tiny_model,
                opt,
                clip,
                ClipWindows(10, 3, 12),
                1,
                terms=MemoryTerms(balance_weight=weight) if weight else MemoryTerms(),
            )
        after[weight] = balance()
    assert after[1.0] < 0.7 * after[0.0]


def _phase2_matching_grads(model, clip, windows, terms):
    """Run one train_step; return the model as phase 2 saw it (a copy taken at phase 2's optimizer
    step, before the step) and the matching encoder's gradients at that step."""
    opt = torch.optim.SGD(model.parameters(), lr=1e-3)
    seen = []
    original_step = opt.step

    def spy():
        if len(seen) == 1:  # phase 2's step: phase 1's has happened
            grads = {n: p.grad.clone() for n, p in model.memory.matching_encoder.named_parameters()}
            seen.append((copy.deepcopy(model), grads))
        else:
            seen.append(None)
        original_step()

    opt.step = spy
    train_step(model, opt, clip, windows, 1, terms=terms)
    return seen[1]


def test_a_matching_encoder_that_learns_from_alignment_gets_only_the_terms_gradient(tiny_model):
    torch.manual_seed(0)
    clip = torch.rand(2, 13, 1, 32, 32)
    windows = ClipWindows(10, 3, 12)
    short, _, long = windows.split(clip, 1)
    before = copy.deepcopy(tiny_model)
    terms = MemoryTerms(address_align_weight=0.7, matching_learns="alignment")
    after_phase1, grads = _phase2_matching_grads(tiny_model, clip, windows, terms)
    # The oracle: 0.7 * KL(long || short) alone, the long addressing from phase 1's forward (the
    # weights before any step), the short one from the weights phase 2 starts from.
    with torch.no_grad():
        long_query, _ = before.encode_motion(long, phase=1)
        _, long_weights, _ = before.address(long_query)
    query, _ = after_phase1.encode_motion(short, phase=2)
    _, weights, _ = after_phase1.address(query)
    (0.7 * addressing_alignment_loss(weights, long_weights)).backward()
    for n, p in after_phase1.memory.matching_encoder.named_parameters():
        torch.testing.assert_close(grads[n], p.grad, msg=n)
    # The published source adds the prediction loss's gradient, which differs.
    published = MemoryTerms(address_align_weight=0.7)
    _, mixed = _phase2_matching_grads(copy.deepcopy(before), clip, windows, published)
    name = next(iter(mixed))
    assert not torch.allclose(mixed[name], grads[name])


def test_matching_learns_is_checked_by_name():
    with pytest.raises(ValueError, match="matching_learns='terms': must be one of"):
        MemoryTerms(address_align_weight=1, matching_learns="terms")
    with pytest.raises(ValueError, match="matching_learns='alignment' needs an alignment term"):
        MemoryTerms(balance_weight=1, matching_learns="alignment")
