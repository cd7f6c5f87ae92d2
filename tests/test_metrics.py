"""Metrics against independent oracles: scikit-image for SSIM and PSNR, hand sums for MSE/MAE."""

import json
import math
from types import SimpleNamespace

import numpy as np
import pytest
import torch
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from lmc.metrics import (
    PSNR_CAP_DB,
    MetricUnavailable,
    clamp01,
    copy_last_frame,
    frame_metrics,
    lpips,
    lpips_available,
    mae,
    map_frame_chunks,
    mse,
    perceptual,
    psnr,
    ssim,
    structural,
    summarize,
    zero_frames_like,
)


def _frames(b, t, c, h, w, seed=0, dtype=torch.float32):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, t, c, h, w, generator=g, dtype=dtype)


def _structured(b, t, h, w, seed=0):
    """Bright squares on black, a smooth ramp and a checkerboard: frames with flat areas and edges,
    where the variance terms of SSIM cancel hardest."""
    g = torch.Generator().manual_seed(seed)
    frames = torch.zeros(b, t, 1, h, w)
    for i in range(b):
        for j in range(t):
            top, left = torch.randint(0, h - 12, (2,), generator=g).tolist()
            frames[i, j, 0, top : top + 12, left : left + 12] = 1.0
    frames[0, 0, 0] = torch.linspace(0, 1, w).expand(h, w)
    frames[-1, -1, 0] = (torch.arange(h)[:, None] + torch.arange(w)[None, :]).remainder(2).float()
    return frames


def _skimage_ssim(pred, target):
    """The oracle: scikit-image frame by frame, channels last when C > 1."""
    p, q = pred.double().numpy(), target.double().numpy()
    b, t, c = p.shape[:3]
    out = np.empty((b, t))
    for i in range(b):
        for j in range(t):
            if c == 1:
                out[i, j] = structural_similarity(
                    p[i, j, 0], q[i, j, 0], win_size=7, data_range=1.0
                )
            else:
                x, y = np.moveaxis(p[i, j], 0, -1), np.moveaxis(q[i, j], 0, -1)
                out[i, j] = structural_similarity(x, y, win_size=7, data_range=1.0, channel_axis=-1)
    return out


def _assert_ssim_matches(pred, target):
    ours = ssim(pred, target)
    assert ours.shape == pred.shape[:2] and ours.dtype == torch.float64
    np.testing.assert_allclose(ours.numpy(), _skimage_ssim(pred, target), rtol=0, atol=1e-4)


@pytest.mark.parametrize("size", [(64, 64), (32, 48)])
def test_ssim_matches_skimage_on_random_frames(size):
    target = _frames(2, 3, 1, *size, seed=1)
    noisy = (target + 0.2 * _frames(2, 3, 1, *size, seed=2) - 0.1).clamp(0, 1)
    _assert_ssim_matches(noisy, target)
    _assert_ssim_matches(_frames(2, 3, 1, *size, seed=3), target)  # unrelated frames, SSIM ~ 0


def test_ssim_matches_skimage_on_structured_frames():
    target = _structured(2, 3, 64, 64, seed=4)
    pred = _structured(2, 3, 64, 64, seed=5)
    _assert_ssim_matches(pred, target)
    _assert_ssim_matches(zero_frames_like(target), target)
    _assert_ssim_matches(target.roll(1, dims=-1), target)


def test_ssim_matches_skimage_in_float64_and_with_three_channels():
    target = _frames(1, 2, 3, 32, 48, seed=6, dtype=torch.float64)
    pred = (target + 0.1 * _frames(1, 2, 3, 32, 48, seed=7, dtype=torch.float64)).clamp(0, 1)
    _assert_ssim_matches(pred, target)
    _assert_ssim_matches(pred.float(), target.float())


def test_ssim_of_identical_frames_is_one():
    frames = torch.cat([_frames(1, 2, 1, 32, 32, seed=8), _structured(1, 2, 32, 32)], dim=1)
    np.testing.assert_allclose(ssim(frames, frames.clone()).numpy(), 1.0, rtol=0, atol=1e-6)
    blank = torch.zeros(1, 1, 1, 16, 16)
    assert ssim(blank, blank).item() == pytest.approx(1.0)


@pytest.mark.parametrize("pixels", [64, 300, 700, 10**6])
def test_chunks_of_clips_or_of_frames_give_the_same_values(pixels, monkeypatch):
    clips = _frames(3, 8, 1, 8, 8, seed=13)
    pred, target = clips[:, :5], clips[:, 3:]  # views that are not contiguous
    calls = []

    def sums(p, q):
        calls.append(p.shape[:2])
        return (p - q).square().sum((2, 3, 4), dtype=torch.float64)

    expected = (pred - target).double().square().sum((2, 3, 4))
    torch.testing.assert_close(map_frame_chunks(sums, pred, target, pixels), expected)
    assert all(b * t * 64 <= max(pixels, 64) for b, t in calls)
    monkeypatch.setattr(structural, "CPU_CHUNK_PIXELS", pixels)
    np.testing.assert_allclose(ssim(pred, target).numpy(), _skimage_ssim(pred, target), atol=1e-6)


def test_mse_and_mae_are_per_frame_sums():
    target = torch.zeros(2, 3, 1, 64, 64)
    pred = target.clone()
    pred[0, 1, 0, 5, :10] = 0.5  # ten pixels off by 0.5
    pred[1, 2, 0] = 1.0  # the whole frame off by 1
    expected_mse = torch.zeros(2, 3, dtype=torch.float64)
    expected_mse[0, 1], expected_mse[1, 2] = 2.5, 64 * 64
    expected_mae = torch.zeros(2, 3, dtype=torch.float64)
    expected_mae[0, 1], expected_mae[1, 2] = 5.0, 64 * 64
    assert torch.equal(mse(pred, target), expected_mse)
    assert torch.equal(mae(pred, target), expected_mae)


def test_mse_sums_over_channels():
    target = torch.zeros(1, 1, 3, 8, 8)
    pred = torch.full_like(target, 0.5)
    assert mse(pred, target).item() == pytest.approx(3 * 64 * 0.25)
    assert mae(pred, target).item() == pytest.approx(3 * 64 * 0.5)


def test_psnr_matches_formula_and_skimage():
    target = _frames(2, 3, 1, 32, 48, seed=9)
    pred = (target + 0.1 * _frames(2, 3, 1, 32, 48, seed=10)).clamp(0, 1)
    ours = psnr(pred, target)
    assert ours.shape == (2, 3) and ours.dtype == torch.float64
    p, q = pred.double().numpy(), target.double().numpy()
    for i in range(2):
        for j in range(3):
            mean_sq = np.mean((p[i, j] - q[i, j]) ** 2)
            assert ours[i, j].item() == pytest.approx(10 * math.log10(1 / mean_sq), abs=1e-4)
            oracle = peak_signal_noise_ratio(q[i, j], p[i, j], data_range=1)
            assert ours[i, j].item() == pytest.approx(oracle, abs=1e-4)


def test_psnr_of_a_perfect_frame_is_capped():
    target = _frames(1, 2, 1, 16, 16, seed=11)
    pred = target.clone()
    pred[0, 1] = 0.0
    values = psnr(pred, target)
    assert values[0, 0].item() == PSNR_CAP_DB == 100.0
    assert math.isfinite(values.mean().item()) and values[0, 1].item() < PSNR_CAP_DB


@pytest.mark.parametrize(
    "pred, target, message",
    [
        (torch.zeros(2, 3, 16, 16), torch.zeros(2, 3, 16, 16), r"\(2, 3, 16, 16\)"),
        (
            torch.zeros(1, 2, 1, 16, 16),
            torch.zeros(1, 3, 1, 16, 16),
            r"\(1, 2, 1, 16, 16\).*\(1, 3",
        ),
        (torch.zeros(1, 2, 1, 8, 8, dtype=torch.uint8), torch.zeros(1, 2, 1, 8, 8), "uint8"),
    ],
)
def test_bad_inputs_are_refused_with_the_shapes_found(pred, target, message):
    for metric in (mse, mae, psnr, ssim, lpips):
        with pytest.raises(ValueError, match=message):
            metric(pred, target)


def test_ssim_refuses_frames_smaller_than_its_window():
    with pytest.raises(ValueError, match="7 x 7.*6 x 16"):
        ssim(torch.zeros(1, 1, 1, 6, 16), torch.zeros(1, 1, 1, 6, 16))


def test_frame_metrics_clamps_predictions_only_when_asked():
    target = torch.full((2, 3, 1, 16, 16), 1.0)
    pred = torch.full_like(target, 1.5)
    clamped = frame_metrics(pred, target)
    assert set(clamped) == {"mse", "mae", "psnr", "ssim"}
    assert all(v.shape == (2, 3) for v in clamped.values())
    assert torch.all(clamped["mse"] == 0) and torch.all(clamped["psnr"] == PSNR_CAP_DB)
    raw = frame_metrics(pred, target, clamp=False, metrics=("mse",))
    assert list(raw) == ["mse"] and torch.allclose(raw["mse"], torch.tensor(256 * 0.25).double())
    assert torch.equal(clamp01(pred), target) and pred.max().item() == 1.5  # input untouched


def test_frame_metrics_names_the_valid_metrics():
    frames = torch.zeros(1, 1, 1, 8, 8)
    with pytest.raises(ValueError, match="'psnr_db'.*mse, mae, psnr, ssim, lpips"):
        frame_metrics(frames, frames, metrics=("mse", "psnr_db"))


def test_baselines():
    short = _frames(2, 4, 1, 8, 8, seed=12)
    repeated = copy_last_frame(short, 5)
    assert repeated.shape == (2, 5, 1, 8, 8)
    assert torch.equal(repeated, short[:, 3:4].expand(2, 5, 1, 8, 8))
    zeros = zero_frames_like(repeated)
    assert zeros.shape == repeated.shape and zeros.dtype == repeated.dtype and not zeros.any()
    with pytest.raises(ValueError, match="out_len"):
        copy_last_frame(short, 0)
    with pytest.raises(ValueError, match=r"\(2, 4, 8, 8\)"):
        copy_last_frame(short[:, :, 0], 3)


def test_summarize_gives_json_ready_means_per_output_frame():
    values = {
        "mse": torch.tensor([[1.0, 2.0, 3.0], [3.0, 4.0, 5.0]], dtype=torch.float64),
        "ssim": torch.tensor([[0.5, 0.5, 1.0], [1.0, 1.0, 1.0]]),
    }
    report = summarize(values)
    assert report == {
        "mse": {"per_frame": [2.0, 3.0, 4.0], "mean": 3.0},
        "ssim": {"per_frame": [0.75, 0.75, 1.0], "mean": pytest.approx(5 / 6)},
    }
    assert isinstance(report["mse"]["mean"], float)
    json.dumps(report)
    with pytest.raises(ValueError, match="'mse'.*\\(3,\\)"):
        summarize({"mse": torch.zeros(3)})


def _fake_lpips_package(tmp_path, monkeypatch):
    """An `lpips` package directory with its head weights, seen by find_spec, and an empty
    torch hub cache under TORCH_HOME; returns where the AlexNet file is expected."""
    package = tmp_path / "site" / "lpips"
    (package / "weights" / "v0.1").mkdir(parents=True)
    (package / "weights" / "v0.1" / "alex.pth").write_bytes(b"")
    specs = {
        "lpips": SimpleNamespace(submodule_search_locations=[str(package)]),
        "torchvision": SimpleNamespace(submodule_search_locations=["unused"]),
    }
    monkeypatch.setattr(perceptual, "find_spec", specs.get)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))
    return tmp_path / "torch" / "hub" / "checkpoints" / perceptual.ALEXNET_FILE


def test_lpips_unavailable_says_why(tmp_path, monkeypatch):
    frames = torch.zeros(1, 2, 1, 16, 16)
    monkeypatch.setattr(perceptual, "find_spec", lambda name: None)
    assert not lpips_available()
    with pytest.raises(MetricUnavailable, match="`lpips` package is not installed"):
        lpips(frames, frames)
    with pytest.raises(MetricUnavailable):
        frame_metrics(frames, frames, metrics=("mse", "lpips"))

    backbone = _fake_lpips_package(tmp_path, monkeypatch)
    assert not lpips_available()
    with pytest.raises(MetricUnavailable, match=f"AlexNet.*{backbone}"):
        lpips(frames, frames)
    backbone.parent.mkdir(parents=True)
    backbone.write_bytes(b"")
    assert lpips_available()


def test_lpips_feeds_the_network_three_channels_in_minus_one_to_one(monkeypatch):
    seen = []

    def fake_network(x, y):
        seen.append((x, y))
        return (x - y).abs().mean((1, 2, 3)).reshape(-1, 1, 1, 1)

    monkeypatch.setattr(perceptual, "_lpips_missing", lambda: None)
    monkeypatch.setattr(perceptual, "_lpips_network", lambda device: fake_network)
    target = torch.zeros(2, 3, 1, 16, 16)
    pred = target.clone()
    pred[1, 2] = 1.0
    values = lpips(pred, target)
    assert values.shape == (2, 3) and values.dtype == torch.float64
    x, y = seen[0]
    assert x.shape == (6, 3, 16, 16) and y.shape == (6, 3, 16, 16)
    assert y.min().item() == -1.0 and x[5].min().item() == 1.0  # 0 -> -1, 1 -> 1
    assert values[1, 2].item() == 2.0 and values.sum().item() == 2.0
    rgb = lpips(torch.ones(1, 1, 3, 8, 8), torch.ones(1, 1, 3, 8, 8))
    assert rgb.item() == 0.0 and seen[1][0].shape == (1, 3, 8, 8)
    with pytest.raises(ValueError, match="C = 2"):
        lpips(torch.zeros(1, 1, 2, 8, 8), torch.zeros(1, 1, 2, 8, 8))
