"""`python -m lmc.bench floor`: FLOPs counted right, the floor and share computed from them, bad
specs refused with the value and what is valid."""

import json

import pytest
import torch
import torch.nn.functional as F

from lmc.bench import floor
from lmc.errors import ConfigError


def test_count_flops_of_a_convolution_is_the_textbook_count():
    x, w = torch.randn(2, 3, 8, 8), torch.randn(5, 3, 3, 3)
    flops = floor.count_flops(lambda: F.conv2d(x, w, padding=1))
    assert flops == 2 * 2 * 5 * 8 * 8 * 3 * 3 * 3  # 2 x N x Cout x H x W x Cin x k x k


def test_train_counts_backward_and_both_phases():
    run_train, clips = floor.task_runner("train", "tiny", 2)
    run_eval, eval_clips = floor.task_runner("eval", "tiny", 2)
    assert clips == 1 and eval_clips == 2
    train, rollout = floor.count_flops(run_train), floor.count_flops(run_eval)
    # Two phases of forward (each about one rollout) plus their backward (about twice that).
    assert 4 * rollout < train < 8 * rollout


@pytest.mark.slow  # times an sgemm of 2048^3 and each task
def test_run_writes_rows_whose_floor_is_flops_over_rate(tmp_path, capsys):
    out = tmp_path / "floor.json"
    record = floor.main(
        ["--specs", "train:tiny:2,eval:tiny:2,pass:tiny:2", "--repeats", "1", "--out", str(out)]
    )
    assert json.loads(out.read_text()) == json.loads(json.dumps(record))
    rate = record["sgemm_flops_per_s"]
    assert rate > 1e8
    tasks = [row["task"] for row in record["rows"]]
    assert tasks == ["train", "eval", "pass"]
    for row in record["rows"]:
        assert row["gflop"] > 0 and row["seconds"] > 0
        assert row["floor_seconds"] == pytest.approx(row["gflop"] * 1e9 / rate)
        assert row["share_of_peak"] == pytest.approx(row["floor_seconds"] / row["seconds"])
    eval_row = record["rows"][1]
    assert eval_row["clips_per_s"] == pytest.approx(2 / eval_row["seconds"])
    printed = capsys.readouterr().out
    assert "sgemm 2048^3" in printed and "| pass | `tiny`, 2 |" in printed


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("train:small", "must be task:preset:batch"),
        ("fly:small:2", "task 'fly' must be one of train, eval, pass"),
        ("train:huge:2", "huge"),
        ("train:small:0", "batch '0' must be a positive integer"),
    ],
)
def test_bad_specs_are_refused(spec, message):
    with pytest.raises(ConfigError, match=message):
        floor.parse_specs(spec)
