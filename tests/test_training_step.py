"""lmc.training.step: one iteration of memory alignment learning, phase by phase."""

import pytest
import torch

from lmc.training import ClipWindows, MemoryTerms, train_step


def test_train_step_leaves_memory_untouched_in_phase_2(tiny_model):
    opt = torch.optim.Adam(tiny_model.parameters(), lr=1e-2)
    clip = torch.rand(2, 13, 1, 32, 32)
    windows = ClipWindows(10, 3, 12)
    history = []
    original_step = opt.step

    def spy():
        history.append(tiny_model.memory.slots.detach().clone())
        original_step()
        history.append(tiny_model.memory.slots.detach().clone())

    opt.step = spy
    losses = train_step(tiny_model, opt, clip, windows, 1)
    assert set(losses) == {"phase1", "phase2"}
    before1, after1, before2, after2 = history
    assert not torch.equal(before1, after1)  # phase 1 writes the memory
    assert torch.equal(before2, after2)  # phase 2 reads it only


def test_no_alignment_trains_the_memory_from_the_short_input(tiny_model):
    opt = torch.optim.Adam(tiny_model.parameters(), lr=1e-2)
    before = {n: p.detach().clone() for n, p in tiny_model.named_parameters()}
    losses = train_step(
        tiny_model, opt, torch.rand(2, 13, 1, 32, 32), ClipWindows(10, 3, 12), 0, alignment="off"
    )
    assert set(losses) == {"loss"}
    moved = {n for n, p in tiny_model.named_parameters() if not torch.equal(before[n], p)}
    assert "memory.slots" in moved and not any(
        n.startswith("memory.context_encoder") for n in moved
    )


def test_warmup_predicts_ten_frames_with_the_first_long_window():
    w = ClipWindows(10, 30, 30, warmup=True)
    clip = torch.arange(40.0).reshape(1, 40, 1, 1, 1)
    short, target, long = w.split(clip, w.long_start(0, 0))
    assert target.shape[1] == 10 and long.shape[1] == 20 and long[0, 0].item() == 0
    w = ClipWindows(10, 30, 30)
    starts = {w.long_start(1234, i) for i in range(200)}
    assert starts == set(range(11))  # uniform over 0 .. short+out-long


def test_the_input_window_ends_with_the_short_input_even_in_warm_up():
    clip = torch.arange(20.0).reshape(1, 20, 1, 1, 1)
    for warmup in (False, True):
        w = ClipWindows(10, 10, 9, warmup=warmup, long_window="input")
        assert {w.long_start(1234, i) for i in range(50)} == {1}
        short, target, long = w.split(clip, w.long_start(1234, 0))
        assert long.flatten().tolist() == list(range(1, 10))  # never a frame of the target
        assert target.flatten().tolist() == list(range(10, 20))
    with pytest.raises(ValueError, match="long_window='input' needs long_len <= short_len"):
        ClipWindows(10, 10, 11, long_window="input")
    with pytest.raises(ValueError, match="long_window='past': must be one of"):
        ClipWindows(10, 10, 10, long_window="past")


def test_align_weight_pulls_short_queries_towards_the_long_ones(tiny_model):
    from lmc.training import query_alignment_loss

    torch.manual_seed(0)
    clip = torch.rand(2, 13, 1, 32, 32)
    windows = ClipWindows(10, 3, 12)

    def gap():
        with torch.no_grad():
            short_q, _ = tiny_model.encode_motion(clip[:, :10], phase=2)
            long_q, _ = tiny_model.encode_motion(clip[:, 1:13], phase=1)
        return query_alignment_loss(short_q, long_q).item()

    opt = torch.optim.SGD(tiny_model.parameters(), lr=0.0)
    losses = train_step(tiny_model, opt, clip, windows, 1, terms=MemoryTerms(align_weight=1.0))
    assert set(losses) == {"phase1", "phase2", "align"}
    assert losses["align"] == pytest.approx(gap(), rel=1e-5)
    # From the same start, a few steps with the term end closer to the long queries than without.
    with torch.no_grad():  # start the two encoders apart (they are copies at initialisation)
        for p in tiny_model.memory.context_encoder.parameters():
            p.add_(0.3 * torch.randn_like(p))
    start = {k: v.clone() for k, v in tiny_model.state_dict().items()}
    gaps = {}
    for weight in (0.0, 1.0):
        tiny_model.load_state_dict(start)
        matching = torch.optim.Adam(tiny_model.memory.matching_encoder.parameters(), lr=1e-2)
        for _ in range(10):
            train_step(
                tiny_model, matching, clip, windows, 1, terms=MemoryTerms(align_weight=weight)
            )
        gaps[weight] = gap()
    assert gaps[1.0] < 0.5 * gaps[0.0]


def test_align_weight_needs_the_two_phases(tiny_model):
    opt = torch.optim.SGD(tiny_model.parameters(), lr=0.0)
    with pytest.raises(ValueError, match="need the memory and the two phases"):
        train_step(
            tiny_model,
            opt,
            torch.rand(2, 13, 1, 32, 32),
            ClipWindows(10, 3, 12),
            0,
            alignment="off",
            terms=MemoryTerms(align_weight=1.0),
        )
