"""`python -m lmc.data`: export round trip against the generator, its manifest, KTH, and error
messages."""

import csv
import json

import imageio.v3 as iio
import numpy as np
import pytest
import torch

from lmc.data.__main__ import main
from lmc.data.folders import FrameFolderDataset
from lmc.data.motion_contexts import FAMILIES, PARAM_NAMES
from lmc.data.moving_mnist import generate_clips
from lmc.data.standard_file import load_standard_file
from lmc.errors import ConfigError, DataError

EXPORT = ["--num-clips", "3", "--seq-len", "5", "--seed", "7", "--split", "val"]


def as_uint8(clip: torch.Tensor) -> np.ndarray:
    return (clip * 255).round().to(torch.uint8).numpy()


def test_png_export_reads_back_exactly(tmp_path, capsys):
    out = tmp_path / "mm"
    main(["export", str(out), *EXPORT, "--num-digits", "1"])
    assert "wrote 3 clips of 5 frames (val)" in capsys.readouterr().out
    clips = generate_clips(3, 5, seed=7, split="val", num_digits=1)
    ds = FrameFolderDataset(out, 5, split="test")
    assert len(ds) == 3 and ds.video_names == ["video_00000", "video_00001", "video_00002"]
    for i in range(3):
        np.testing.assert_array_equal(as_uint8(ds[i])[:, 0], clips.frames[i])
        assert ds.metadata[i] == {
            "clip": i,
            "labels": clips.labels[i].tolist(),
            "seed": 7,
            "split": "val",
        }
    with np.load(out / "meta.npz") as meta:
        np.testing.assert_array_equal(meta["positions"], clips.positions)
        np.testing.assert_array_equal(meta["velocities"], clips.velocities)
        np.testing.assert_array_equal(meta["labels"], clips.labels)
    args = json.loads((out / "export.json").read_text())
    assert args["seed"] == 7 and args["num_digits"] == 1 and args["ext"] == "png"


def test_jpg_export_is_close(tmp_path):
    out = tmp_path / "mm"
    main(["export", str(out), *EXPORT, "--ext", "jpg"])
    assert (out / "video_00000" / "frame_00004.jpg").is_file()
    clips = generate_clips(3, 5, seed=7, split="val")
    got = as_uint8(FrameFolderDataset(out, 5)[2])[:, 0].astype(int)
    assert np.abs(got - clips.frames[2]).mean() < 4  # lossy, but quality 95


def test_export_writes_a_manifest_of_its_folders(tmp_path):
    out = tmp_path / "mm"
    main(["export", str(out), *EXPORT])
    clips = generate_clips(3, 5, seed=7, split="val")
    with open(out / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert rows == [
        {
            "folder": f"video_{i:05d}",
            "clip": str(i),
            "frames": "5",
            "labels": " ".join(str(label) for label in clips.labels[i]),
            "seed": "7",
            "split": "val",
        }
        for i in range(3)
    ]
    assert FrameFolderDataset(out, 5).video_names == [row["folder"] for row in rows]


def test_context_export_carries_each_digits_family(tmp_path, capsys):
    out = tmp_path / "ctx"
    main(["export", str(out), *EXPORT, "--motion", "contexts"])
    assert "wrote 3 clips with motion contexts of 5 frames (val)" in capsys.readouterr().out
    clips = generate_clips(3, 5, seed=7, split="val", motion="contexts")
    with np.load(out / "meta.npz") as meta:
        np.testing.assert_array_equal(meta["families"], clips.families)
        np.testing.assert_array_equal(meta["family_params"], clips.family_params)
        names = [str(n) for n in meta["family_names"]]
        assert names == list(FAMILIES) and len(meta["param_names"]) == len(PARAM_NAMES)
    with open(out / "manifest.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [row["families"] for row in rows] == [
        " ".join(FAMILIES[f] for f in clips.families[i]) for i in range(3)
    ]
    assert json.loads((out / "export.json").read_text())["motion"] == "contexts"
    np.testing.assert_array_equal(as_uint8(FrameFolderDataset(out, 5)[1])[:, 0], clips.frames[1])


def test_standard_file_export_has_the_fields_layout_and_labels_beside(tmp_path):
    out = tmp_path / "std"
    main(["export", str(out), *EXPORT, "--motion", "contexts", "--format", "standard"])
    clips = generate_clips(3, 5, seed=7, split="val", motion="contexts")
    assert sorted(p.name for p in out.iterdir()) == [
        "export.json",
        "meta.npz",
        "mnist_test_seq.npy",
    ]
    frames = load_standard_file(out / "mnist_test_seq.npy")  # (T, N, H, W) on disk
    np.testing.assert_array_equal(frames, clips.frames)
    with np.load(out / "meta.npz") as meta:
        np.testing.assert_array_equal(meta["families"], clips.families)


def test_export_errors_are_messages(tmp_path):
    out = tmp_path / "mm"
    out.mkdir()
    (out / "something").write_text("x")
    with pytest.raises(FileExistsError, match="mm is not empty"):
        main(["export", str(out), *EXPORT])
    with pytest.raises(ValueError, match="num_clips"):
        main(["export", str(tmp_path / "new"), *EXPORT[2:], "--num-clips", "0"])
    assert not (tmp_path / "new").exists()
    with pytest.raises(ConfigError, match="argument --split: invalid choice: 'holdout'"):
        main(["export", str(tmp_path / "x"), *EXPORT[:6], "--split", "holdout"])


def test_kth_command_prints_summary(tmp_path, capsys):
    raw = tmp_path / "raw"
    raw.mkdir()
    video = np.zeros((6, 16, 16, 3), np.uint8)
    video[:, 4:8, 4:8] = 200
    iio.imwrite(raw / "person20_handwaving_d4_uncomp.avi", video, plugin="FFMPEG", codec="ffv1")
    (raw / "person01_boxing_d1_uncomp.avi").write_bytes(b"broken")
    main(["kth", str(raw), str(tmp_path / "out"), "--size", "32"])
    printed = capsys.readouterr().out
    assert "test: 1 videos, 6 frames, from 1 files" in printed
    assert "person01_boxing_d1_uncomp.avi: cannot decode" in printed
    assert FrameFolderDataset(tmp_path / "out" / "test", 6)[0].shape == (6, 1, 32, 32)
    assert f"manifest: {tmp_path / 'out' / 'manifest.csv'}" in printed
    with pytest.raises(ValueError, match="valid actions: boxing, handclapping"):
        main(["kth", str(raw), str(tmp_path / "o2"), "--actions", "boxing,dancing"])
    with pytest.raises(DataError, match="no KTH video could be converted"):
        main(["kth", str(raw), str(tmp_path / "o3"), "--actions", "boxing"])
