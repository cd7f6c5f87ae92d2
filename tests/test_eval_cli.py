import csv
import json

import pytest
import torch

from lmc import build_model, cli, save_checkpoint
from lmc.errors import CheckpointError, ConfigError
from lmc.official import ours_to_official
from train import test as eval_cli


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))


@pytest.fixture
def checkpoint(tmp_path, tiny_model):
    return save_checkpoint(tiny_model, tmp_path / "tiny.safetensors")


def test_evaluation_writes_json_csv_plot_and_frames(tmp_path, checkpoint):
    out = tmp_path / "results"
    report = eval_cli.main(
        [
            "--checkpoint_load_file",
            str(checkpoint),
            "--test_result_dir",
            str(out),
            "--num_clips",
            "6",
            "--out_len",
            "4",
            "--batch_size",
            "4",
            "--make_frame",
            "True",
            "--evaluate",
            "True",
        ]
    )
    assert (
        report["clips"] == 6
        and report["source"] == "generated Moving-MNIST (seed 2002, split test)"
    )
    saved = json.loads((out / "metrics.json").read_text())
    for method in ("model", "copy_last", "zeros"):
        assert len(saved[method]["mse"]["per_frame"]) == 4
        per_frame = saved[method]["ssim"]["per_frame"]
        assert saved[method]["ssim"]["mean"] == pytest.approx(sum(per_frame) / 4)
    rows = list(csv.DictReader(open(out / "metrics.csv")))
    assert len(rows) == 3 * (4 + 1) and rows[4]["frame"] == "mean"
    assert (out / "metrics.png").stat().st_size > 1000
    frames = sorted((out / "predictions").glob("video_*/frame_*.png"))
    assert len(frames) == 6 * 4 and frames[0].parent.name == "video_00000"
    assert "LPIPS" not in report["lpips"] and report["lpips"] == "not requested"


def test_zero_baseline_mse_is_the_sum_of_squared_targets(tmp_path, checkpoint):
    from lmc.data.fixed_sets import fixed_set

    report = eval_cli.main(
        [
            "--checkpoint_load_file",
            str(checkpoint),
            "--test_result_dir",
            str(tmp_path / "r"),
            "--num_clips",
            "3",
            "--out_len",
            "2",
        ]
    )
    clips = fixed_set("test", 3, 12, image_size=32).to_tensor()
    expected = clips[:, 10:12].square().sum(dim=(2, 3, 4)).mean(0).double()
    got = torch.tensor(report["zeros"]["mse"]["per_frame"], dtype=torch.float64)
    torch.testing.assert_close(got, expected, rtol=1e-6, atol=1e-6)


def test_authors_checkpoint_is_evaluated_through_the_importer(tmp_path):
    model = build_model("paper-mnist")
    torch.save(ours_to_official(model), tmp_path / "official.pt")
    report = eval_cli.main(
        [
            "--checkpoint_load_file",
            str(tmp_path / "official.pt"),
            "--dataset",
            "movingmnist",
            "--test_result_dir",
            str(tmp_path / "r"),
            "--num_clips",
            "1",
            "--out_len",
            "1",
        ]
    )
    assert report["checkpoint_format"] == "official" and report["clips"] == 1


def test_lpips_unavailable_is_noted_not_fatal(tmp_path, checkpoint):
    report = eval_cli.main(
        [
            "--checkpoint_load_file",
            str(checkpoint),
            "--test_result_dir",
            str(tmp_path / "r"),
            "--num_clips",
            "2",
            "--out_len",
            "1",
            "--lpips",
        ]
    )
    assert report["lpips"].startswith("skipped") and "lpips" not in report["model"]


def test_bad_checkpoint_is_a_clear_cli_error(tmp_path, capsys):
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(b"\x00" * 100)
    with pytest.raises(CheckpointError, match="truncated or corrupted"):
        eval_cli.main(["--checkpoint_load_file", str(bad)])
    with pytest.raises(SystemExit) as stop:
        cli.run(eval_cli.main, ["--checkpoint_load_file", str(bad)], prog="train.test")
    assert stop.value.code == 2
    err = capsys.readouterr().err
    assert err.startswith(f"train.test: {bad} is not a readable safetensors checkpoint")
    assert err.count("\n") == 1


@pytest.mark.parametrize(
    "flags, message",
    [
        (["--device", "nonsense"], "device='nonsense': must be auto, cpu, cuda, cuda:N"),
        (["--out_len", "0"], "--out_len=0: must be at least 1"),
        (["--num_clips", "0"], "--num_clips=0: must be at least 1"),
        (["--img_channel", "3"], "--img_channel 3: the checkpoint's model has 1 channels"),
        (["--dataset", "kth"], "--dataset kth needs --test_data_dir"),
        (["--make_frame", "yes"], "argument --make_frame: expected True or False, got 'yes'"),
    ],
)
def test_bad_flags_name_the_value(tmp_path, checkpoint, flags, message):
    out = tmp_path / "results"
    with pytest.raises(ConfigError, match=message):
        eval_cli.main(
            ["--checkpoint_load_file", str(checkpoint), "--test_result_dir", str(out), *flags]
        )
    assert not out.exists()
