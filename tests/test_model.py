import math

import pytest
import torch
import torch.nn.functional as F
from conftest import clip

from lmc import MemoryOverride, ModelConfig, build_model, parameter_counts
from lmc.nn.convlstm import ConvLSTMCell

PUBLISHED = {
    "frame_encoder": 259_008,
    "convlstm": 4_722_688,
    "frame_decoder": 406_337,
    "fusion": 6_288,
    "memory.matching_encoder": 13_495_680,
    "memory.context_encoder": 13_495_680,
    "memory.embedder": 1_474_944,
    "memory.slots": 51_200,
    "total": 33_911_825,
    "inference": 20_416_145,
}


@pytest.mark.parametrize("preset", ["paper-mnist", "paper-kth"])
def test_paper_parameter_counts_match_the_publication(preset):
    assert parameter_counts(build_model(preset)) == PUBLISHED


@pytest.mark.parametrize(
    "preset,size,t",
    [("tiny", 32, 9), ("small", 64, 9), ("paper-mnist", 64, 9), ("paper-kth", 128, 9)],
)
def test_shapes_for_every_preset(preset, size, t):
    model = build_model(preset)
    cfg = model.config
    short = clip(1, t, cfg.image_channels, size)
    out = model.predict(short, out_len=2)
    cells = (size // 16) ** 2
    assert out.frames.shape == (1, 2, 1, size, size)
    assert out.memory.query.shape == (1, cells, cfg.memory_dim)
    assert out.memory.weights.shape == (1, cells, cfg.memory_size)
    assert out.memory.cosine.shape == (1, cells, cfg.memory_size)
    assert out.memory.readout.shape == (1, cells, cfg.memory_dim)
    assert out.memory.gates.shape == (1, 2, cfg.feature_channels)
    assert out.memory.grid == (size // 16, size // 16)


def test_any_side_multiple_of_16_and_rgb():
    model = build_model(ModelConfig.preset("tiny", image_channels=3))
    out = model.predict(torch.rand(2, 9, 3, 48, 80), out_len=3)
    assert out.frames.shape == (2, 3, 3, 48, 80)
    assert out.memory.grid == (3, 5) and out.memory.weights.shape[1] == 15


def test_kth_output_is_a_sigmoid_and_mnist_is_not():
    kth = build_model(ModelConfig.preset("tiny", output_activation="sigmoid"))
    assert isinstance(kth.frame_decoder[-1], torch.nn.Sigmoid)
    out = kth.predict(clip(), out_len=2).frames
    assert out.min() >= 0 and out.max() <= 1
    assert not isinstance(build_model("tiny").frame_decoder[-1], torch.nn.Sigmoid)


def test_convlstm_cell_against_the_two_convolution_formula():
    cell = ConvLSTMCell(3, 5)
    x, h, c = torch.randn(2, 3, 6, 7), torch.randn(2, 5, 6, 7), torch.randn(2, 5, 6, 7)
    wx, wh = cell.weight[:, :3], cell.weight[:, 3:]
    gx = F.conv2d(x, wx, cell.bias_x, padding=1)
    gh = F.conv2d(h, wh, cell.bias_h, padding=1)
    xi, xg, xf, xo = gx.chunk(4, 1)
    hi, hg, hf, ho = gh.chunk(4, 1)
    c_ref = torch.sigmoid(xf + hf) * c + torch.sigmoid(xi + hi) * torch.tanh(xg + hg)
    h_ref = torch.sigmoid(xo + ho) * torch.tanh(c_ref)
    h_new, c_new = cell(x, (h, c))
    torch.testing.assert_close(c_new, c_ref, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(h_new, h_ref, rtol=1e-5, atol=1e-6)


def test_context_encoder_starts_as_a_copy_of_the_matching_encoder(tiny_model):
    a = tiny_model.memory.matching_encoder.state_dict()
    b = tiny_model.memory.context_encoder.state_dict()
    assert all(torch.equal(a[k], b[k]) for k in a)


@pytest.mark.parametrize("size", [10, 100])
def test_addressing_weights_sum_to_one_and_are_bounded_at_temperature_one(size):
    model = build_model(ModelConfig.preset("tiny", memory_size=size))
    # Queries equal to slots push one cosine to 1; the bound e^2/(e^2+S-1) still holds.
    query = torch.cat([model.memory.slots[None, :3].detach(), torch.randn(1, 5, 8)], dim=1)
    cosine, weights, readout = model.address(query)
    torch.testing.assert_close(weights.sum(-1), torch.ones(1, 8))
    bound = math.e**2 / (math.e**2 + size - 1)
    assert weights.max() <= bound + 1e-6
    assert cosine.min() >= -1 - 1e-6 and cosine.max() <= 1 + 1e-6
    torch.testing.assert_close(readout, weights @ model.memory.slots.detach())


def test_lower_temperature_sharpens_recall():
    flat = build_model(ModelConfig.preset("tiny"))
    sharp = build_model(ModelConfig.preset("tiny", temperature=0.1))
    sharp.load_state_dict(flat.state_dict())
    short = clip()
    w_flat = flat.predict(short, 2).memory.weights
    w_sharp = sharp.predict(short, 2).memory.weights
    assert w_sharp.max(-1).values.mean() > w_flat.max(-1).values.mean()


def test_standardized_addressing_is_softmax_of_z_scored_cosines_and_ignores_their_scale():
    model = build_model(ModelConfig.preset("tiny", addressing="standardized", temperature=0.5))
    query = torch.randn(2, 3, 8)
    cosine, weights, readout = model.address(query)
    # The oracle, written out: each query's cosines in units of their population std.
    z = (cosine - cosine.mean(-1, keepdim=True)) / cosine.std(-1, unbiased=False, keepdim=True)
    torch.testing.assert_close(weights, torch.softmax(z / 0.5, dim=-1))
    torch.testing.assert_close(readout, weights @ model.memory.slots.detach())
    # Cosines squeezed towards their mean (a model "narrowing" them) leave the weights as they
    # were: q' = q + 50 * mean slot direction keeps the order but shrinks every cosine's spread.
    published = build_model(ModelConfig.preset("tiny", temperature=0.5))
    published.load_state_dict(model.state_dict())
    centre = torch.nn.functional.normalize(model.memory.slots.detach(), dim=-1).mean(0)
    squeezed = query + 50 * centre * query.norm(dim=-1, keepdim=True)
    _, w_pub, _ = published.address(squeezed)
    assert w_pub.max() < 2.0 / 10  # the published addressing goes nearly uniform
    _, w_std, _ = model.address(squeezed)
    assert w_std.max() > 0.5


def test_global_query_is_one_cell_tiled_over_the_grid():
    model = build_model(ModelConfig.preset("tiny", query="global"))
    out = model.predict(clip(), out_len=2)
    assert out.memory.query.shape == (2, 1, 8) and out.memory.grid == (1, 1)


def test_cell_query_reads_only_its_own_cell():
    model = build_model(ModelConfig.preset("tiny", query="cell"))
    frames = clip(t=10, size=64)
    query, grid = model.memory.encode_motion(frames, phase=2)
    assert grid == (4, 4) and query.shape == (2, 16, model.config.memory_dim)
    # The query of cell (0, 1) is the encoder run on that 16x16 patch alone.
    diffs = (frames[:, 1:] - frames[:, :-1]).permute(0, 2, 1, 3, 4)[..., 0:16, 16:32]
    alone = model.memory.matching_encoder(diffs)[:, :, 0, 0, 0]
    torch.testing.assert_close(query[:, 1], alone, rtol=1e-5, atol=1e-6)
    # Changing every pixel outside cell 5 (row 1, col 1) leaves its query as it was.
    other = torch.rand_like(frames)
    other[..., 16:32, 16:32] = frames[..., 16:32, 16:32]
    changed, _ = model.memory.encode_motion(other, phase=2)
    torch.testing.assert_close(changed[:, 5], query[:, 5])
    assert not torch.allclose(changed[:, 0], query[:, 0])


def _grads(model):
    return {n: p.grad is not None and p.grad.abs().sum() > 0 for n, p in model.named_parameters()}


def test_phase_1_trains_memory_and_context_encoder_phase_2_neither(tiny_model):
    short, long = clip(t=10), clip(t=20, seed=1)
    tiny_model(short, long, out_len=3, phase=1).frames.square().mean().backward()
    g1 = _grads(tiny_model)
    for name, has in g1.items():
        expected = not name.startswith("memory.matching_encoder")
        assert has == expected, name
    tiny_model.zero_grad(set_to_none=True)
    tiny_model(short, out_len=3, phase=2).frames.square().mean().backward()
    for name, p in tiny_model.named_parameters():
        frozen = name == "memory.slots" or name.startswith("memory.context_encoder")
        assert (p.grad is None) == frozen, name
        if not frozen:
            assert p.grad.abs().sum() > 0, name


def test_adam_leaves_the_memory_exactly_unchanged_in_phase_2(tiny_model):
    opt = torch.optim.Adam(tiny_model.parameters(), lr=1e-2)
    short, long = clip(t=10), clip(t=20, seed=1)
    for phase in (1, 2, 1):  # momentum from phase 1 must not move the memory in phase 2
        opt.zero_grad(set_to_none=True)
        tiny_model(short, long, out_len=2, phase=phase).frames.mean().backward()
        before = tiny_model.memory.slots.detach().clone()
        opt.step()
        moved = not torch.equal(before, tiny_model.memory.slots.detach())
        assert moved == (phase == 1)


def test_every_parameter_of_the_no_memory_model_learns():
    model = build_model(ModelConfig.preset("tiny", memory=False))
    assert model.memory is None
    out = model(clip(t=3), out_len=2)
    assert out.memory is None and out.frames.shape == (2, 2, 1, 32, 32)
    out.frames.mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.parameters())


def test_rollout_feeds_back_its_own_unclamped_predictions(tiny_model):
    short = clip(t=10)
    trace, feature = tiny_model.recall(short)
    frames, _ = tiny_model.rollout(short, 3, feature)
    # Re-running with the first two predictions appended as inputs gives the same third frame.
    extended = torch.cat([short, frames[:, :2]], dim=1)
    again, _ = tiny_model.rollout(extended, 1, feature)
    torch.testing.assert_close(again[:, 0], frames[:, 2], rtol=1e-5, atol=1e-6)


def test_memory_override_with_one_slot_recalls_exactly_that_slot(tiny_model):
    override = MemoryOverride.slot(3, num_cells=4, memory_size=10)
    out = tiny_model.predict(clip(), out_len=2, memory_override=override)
    slots = tiny_model.memory.slots.detach()
    torch.testing.assert_close(out.memory.readout, slots[3].expand(2, 4, -1))
    assert out.memory.overridden.all()
    plain = tiny_model.predict(clip(), out_len=2)
    assert not torch.allclose(plain.frames, out.frames)


def test_memory_override_of_one_cell_keeps_the_others(tiny_model):
    override = MemoryOverride.slot(0, num_cells=4, memory_size=10, cells=[2])
    out = tiny_model.predict(clip(), out_len=2, memory_override=override)
    plain = tiny_model.predict(clip(), out_len=2)
    torch.testing.assert_close(out.memory.weights[:, [0, 1, 3]], plain.memory.weights[:, [0, 1, 3]])
    assert torch.equal(out.memory.weights[:, 2, 0], torch.ones(2))
    assert out.memory.overridden.tolist() == [False, False, True, False]


def test_memory_override_with_a_readout(tiny_model):
    readout = torch.randn(1, 4, 8)
    out = tiny_model.predict(clip(), out_len=2, memory_override=MemoryOverride(readout=readout))
    torch.testing.assert_close(out.memory.readout, readout.expand(2, -1, -1))
    assert torch.isnan(out.memory.weights).all()


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (
            dict(weights=torch.zeros(1, 3, 10)),
            r"MemoryOverride.weights has shape \(1, 3, 10\); expected",
        ),
        (dict(readout=torch.zeros(2, 4, 5)), r"MemoryOverride.readout has shape"),
        (
            dict(weights=torch.zeros(1, 4, 10), cells=torch.ones(3, dtype=torch.bool)),
            r"cells has shape \(3,\)",
        ),
    ],
)
def test_bad_memory_overrides_are_named(tiny_model, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny_model.predict(clip(), out_len=2, memory_override=MemoryOverride(**kwargs))
    with pytest.raises(ValueError, match="exactly one"):
        MemoryOverride()
    with pytest.raises(ValueError, match="slot=10"):
        MemoryOverride.slot(10, 4, 10)


@pytest.mark.parametrize(
    "short,kwargs,match",
    [
        (
            torch.rand(2, 10, 1, 30, 32),
            {},
            r"30x32 pixels; each side must be a positive multiple of 16",
        ),
        (
            torch.rand(2, 8, 1, 32, 32),
            {},
            r"short gives the model 8 input frames; it needs at least 9",
        ),
        (torch.rand(2, 10, 3, 32, 32), {}, r"3 channels; this model expects 1 \(grayscale\)"),
        (torch.rand(10, 1, 32, 32), {}, r"4 dims\); expected 5 dims"),
        (
            torch.randint(0, 255, (2, 10, 1, 32, 32), dtype=torch.uint8),
            {},
            r"dtype torch.uint8; expected a floating",
        ),
        (
            torch.rand(2, 10, 1, 32, 32),
            {"out_len": 0},
            r"out_len=0: must be an integer of at least 1",
        ),
        (torch.rand(2, 10, 1, 32, 32), {"phase": 3}, r"phase=3"),
        (torch.rand(2, 10, 1, 32, 32), {"phase": 1}, r"phase 1 needs the long-term sequence"),
        (
            torch.rand(2, 10, 1, 32, 32),
            {"phase": 1, "long": torch.rand(2, 5, 1, 32, 32)},
            r"long gives the model 5 input frames; it needs at least 9",
        ),
    ],
)
def test_bad_input_is_refused_before_computing(tiny_model, short, kwargs, match):
    with pytest.raises(ValueError, match=match):
        tiny_model(short, **kwargs)


@pytest.mark.parametrize(
    "changes,match",
    [
        ({"image_size": 40}, r"image_size=40: must be a positive multiple of 16"),
        ({"image_channels": 2}, r"image_channels=2: must be 1 or 3"),
        ({"query": "pooled"}, r"query='pooled'"),
        ({"temperature": 0.0}, r"temperature=0.0: must be > 0"),
        ({"addressing": "dot"}, r"addressing='dot': must be one of \('cosine', 'standardized'\)"),
        ({"memory_size": 0}, r"memory_size=0: must be at least 1"),
    ],
)
def test_bad_config_is_named(changes, match):
    with pytest.raises(ValueError, match=match):
        ModelConfig.preset("tiny", **changes)


def test_unknown_preset_and_keys_list_the_valid_ones():
    with pytest.raises(ValueError, match="valid presets: paper-mnist, paper-kth, small, tiny"):
        ModelConfig.preset("huge")
    with pytest.raises(ValueError, match=r"unknown ModelConfig keys \['slots'\]; valid keys:"):
        ModelConfig.from_dict({"slots": 3})


def test_config_dict_round_trip():
    cfg = ModelConfig.preset("small")
    assert ModelConfig.from_dict(cfg.to_dict()) == cfg


def test_query_grid_is_one_cell_per_16_pixels_or_one_global_cell():
    assert build_model("tiny").query_grid(64, 96) == (4, 6)
    assert build_model(ModelConfig.preset("tiny", query="global")).query_grid(64, 96) == (1, 1)


def test_the_model_and_the_analysis_refuse_a_clip_with_the_same_message(tiny_model):
    from lmc.analysis.inputs import check_clip
    from lmc.errors import InputError

    frames = torch.rand(1, 10, 1, 48, 40)
    with pytest.raises(InputError) as model_err:
        tiny_model.predict(frames, 2)
    with pytest.raises(InputError) as analysis_err:
        check_clip(frames[0].numpy(), channels=1, what="short")
    assert str(model_err.value) == str(analysis_err.value)
