import math

import numpy as np
import pytest
import torch

from lmc import ModelConfig, build_model
from lmc.analysis.inputs import Clip, InputError, default_out_len
from lmc.analysis.rollout import (
    best_method,
    copy_last,
    error_maps,
    frame_scores,
    load_method_dir,
    method_results,
    run_rollout,
    score_table,
    versus_better_baseline,
    zero_frames,
)


def test_frame_scores_match_hand_computed_values():
    target = np.zeros((2, 1, 16, 16), np.float32)
    pred = np.full_like(target, 0.5)
    pred[1] = 1.5  # clamped to 1 before scoring
    s = frame_scores(pred, target)
    np.testing.assert_allclose(s["mse"], [0.25 * 256, 1.0 * 256])
    np.testing.assert_allclose(s["mae"], [0.5 * 256, 1.0 * 256])
    np.testing.assert_allclose(s["psnr"], [10 * math.log10(1 / 0.25), 0.0], atol=1e-9)
    assert s["ssim"].shape == (2,)
    # Only the frames both have are scored.
    assert frame_scores(pred, target[:1])["mse"].shape == (1,)
    with pytest.raises(InputError, match="no frame to score"):
        frame_scores(pred, target[:0])


def test_copy_last_and_error_maps():
    inputs = np.arange(3 * 2 * 2 * 2, dtype=np.float32).reshape(3, 2, 2, 2) / 24
    base = copy_last(inputs, 4)
    assert base.shape == (4, 2, 2, 2) and all(np.array_equal(f, inputs[-1]) for f in base)
    pred = np.zeros((2, 2, 1, 2), np.float32)
    target = np.array([[[[0.2, 0.4]], [[0.6, 0.0]]], [[[1.0, 1.0]], [[1.0, 0.0]]]], np.float32)
    np.testing.assert_allclose(error_maps(pred, target), [[[0.4, 0.2]], [[1.0, 0.5]]])
    np.testing.assert_allclose(error_maps(pred + 2, target)[1], [[0.0, 0.5]])  # clamped first


@pytest.fixture
def model():
    torch.manual_seed(0)
    return build_model(ModelConfig.preset("tiny"))


def test_rollout_is_the_models_clamped_prediction(model):
    frames = torch.rand(14, 1, 32, 32, generator=torch.Generator().manual_seed(1)).numpy()
    clip = Clip(frames, 10, "random")
    result = run_rollout(model, clip)
    expected = model.predict(torch.from_numpy(frames[:10])[None], 4).frames[0].clamp(0, 1)
    np.testing.assert_allclose(result.pred, expected.numpy(), atol=1e-6)
    assert default_out_len(clip) == 4 and result.out_len == 4
    np.testing.assert_array_equal(result.target, frames[10:])
    assert result.gate.shape == (4,) and ((result.gate > 0) & (result.gate < 1)).all()
    longer = run_rollout(model, clip, out_len=6)  # past the ground truth: 4 frames to compare
    assert longer.pred.shape[0] == 6 and longer.target.shape[0] == 4


def test_rollout_without_future_has_no_target(model):
    clip = Clip(np.zeros((9, 1, 32, 32), np.float32), 9, "input only")
    result = run_rollout(model, clip)
    assert result.target is None and result.out_len == 10
    nomem = build_model(ModelConfig.preset("tiny", memory=False))
    assert run_rollout(nomem, clip, 3).gate is None


def test_score_table_and_best_method():
    named = {
        "a": {"mse": np.array([1.0, 3.0]), "ssim": np.array([0.5, 0.7])},
        "b": {"mse": np.array([1.0, 1.0]), "ssim": np.array([0.4, 0.4])},
    }
    rows = score_table(named)
    assert rows[0] == {"method": "a", "frames": 2, "mse": 2.0, "ssim": pytest.approx(0.6)}
    assert best_method(named, "mse") == "b" and best_method(named, "ssim") == "a"


def method_arrays(n=3, t_in=10, t_out=5, seed=0):
    rng = np.random.default_rng(seed)
    inputs = rng.random((n, t_in, 1, 16, 16), dtype=np.float32)
    trues = rng.random((n, t_out, 1, 16, 16), dtype=np.float32)
    preds = rng.random((n, t_out, 1, 16, 16), dtype=np.float32)
    return inputs, trues, preds


def test_zero_frames_score_the_targets_own_energy():
    rng = np.random.default_rng(0)
    target = rng.random((3, 1, 16, 16), dtype=np.float32)
    zeros = zero_frames(target)
    assert zeros.shape == target.shape and zeros.dtype == np.float32 and not zeros.any()
    mse = frame_scores(zeros, target)["mse"]
    np.testing.assert_allclose(mse, (target.astype(np.float64) ** 2).sum(axis=(1, 2, 3)), rtol=1e-5)


def test_the_model_is_compared_with_the_better_baseline_on_each_score():
    """The issue's case: copy-last MSE 258.2, all-zero frames 136.8, the model 200.1. Against
    copy-last the model looked 58.1 better; against the better floor it is 63.3 worse."""
    one = np.ones(2)
    named = {
        "model": {"mse": 200.1 * one, "ssim": 0.40 * one},
        "copy": {"mse": 258.2 * one, "ssim": 0.30 * one},
        "zeros": {"mse": 136.8 * one, "ssim": 0.10 * one},
    }
    mse = versus_better_baseline(named, "model", ("copy", "zeros"), "mse")
    assert (mse.baseline, mse.baseline_value, mse.value) == ("zeros", 136.8, 200.1)
    assert math.isclose(mse.delta, 63.3) and not mse.beats
    ssim = versus_better_baseline(named, "model", ("copy", "zeros"), "ssim")
    assert ssim.baseline == "copy" and math.isclose(ssim.delta, 0.1) and ssim.beats
    named["model"]["mse"] = 136.8 * one  # a tie is not a win
    assert not versus_better_baseline(named, "model", ("copy", "zeros"), "mse").beats
    named["model"]["mse"] = 100.0 * one
    assert versus_better_baseline(named, "model", ("copy", "zeros"), "mse").beats
    with pytest.raises(ValueError, match="no scores for \\['other'\\]"):
        versus_better_baseline(named, "model", ("copy", "other"), "mse")


def test_method_results_round_trip_through_a_folder(tmp_path):
    inputs, trues, preds = method_arrays()
    for name, array in zip(("inputs", "trues", "preds"), (inputs, trues, preds), strict=True):
        np.save(tmp_path / f"{name}.npy", array)
    results = load_method_dir(tmp_path, name="SimVP")
    assert len(results) == 3 and results.name == "SimVP"
    clip = results.clip(1)
    assert clip.short_len == 10 and clip.frames.shape == (15, 1, 16, 16)
    np.testing.assert_array_equal(clip.future, trues[1])
    np.testing.assert_array_equal(results.prediction(1), preds[1])
    assert results.matches(clip, 1) and not results.matches(clip, 0)
    with pytest.raises(InputError, match="clips 0 .. 2"):
        results.prediction(3)


def test_method_results_accept_uint8_and_missing_channel_axis():
    inputs, trues, preds = (np.round(a[:, :, 0] * 255).astype(np.uint8) for a in method_arrays())
    results = method_results(inputs, trues, preds)
    assert results.inputs.shape == (3, 10, 1, 16, 16)
    np.testing.assert_allclose(results.prediction(0)[:, 0], preds[0] / 255, rtol=1e-6)


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda i, t, p: (i, t, p[:, :4]), r"preds.npy \(3, 4, 1, 16, 16\) and trues.npy"),
        (lambda i, t, p: (i[:2], t, p), "inputs.npy has 2 clips and trues.npy 3"),
        (lambda i, t, p: (i[..., :8], t, p), "must match"),
        (lambda i, t, p: (i[0, 0], t, p), "expected \\(N, T, C, H, W\\)"),
    ],
)
def test_method_results_refuse_inconsistent_arrays(change, message):
    with pytest.raises(InputError, match=message):
        method_results(*change(*method_arrays()))


def test_missing_method_files_are_named(tmp_path):
    np.save(tmp_path / "preds.npy", np.zeros((1, 2, 1, 16, 16), np.float32))
    with pytest.raises(InputError, match="lacks inputs.npy, trues.npy"):
        load_method_dir(tmp_path)
