"""KTH conversion on small AVIs written here: person split, cutting, skips, frames, metadata,
the manifest."""

import csv
import json

import imageio.v3 as iio
import numpy as np
import pytest
from PIL import Image

from lmc.data.folders import FrameFolderDataset
from lmc.data.kth import ACTIONS, MANIFEST_COLUMNS, convert_kth, parse_sequences


def moving_square(t: int, h: int = 32, w: int = 40) -> np.ndarray:
    """(t, h, w) uint8 gray: a bright square drifting right and down on a dim background."""
    video = np.full((t, h, w), 30, np.uint8)
    for i in range(t):
        video[i, 2 + i : 10 + i, 3 + 2 * i : 11 + 2 * i] = 220
    return video


def write_avi(path, video: np.ndarray) -> None:
    # FFV1 is lossless, so decoded frames equal these exactly; RGB because KTH's AVIs decode so.
    rgb = np.repeat(video[..., None], 3, axis=-1)
    iio.imwrite(path, rgb, plugin="FFMPEG", codec="ffv1", fps=25, macro_block_size=1)


SOURCES = {
    "person01_boxing_d1_uncomp.avi": 12,
    "person02_running_d3_uncomp.avi": 10,
    "person17_walking_d2_uncomp.avi": 8,
}


@pytest.fixture(scope="module")
def raw_dir(tmp_path_factory):
    raw = tmp_path_factory.mktemp("kth_raw")
    for name, t in SOURCES.items():
        write_avi(raw / name, moving_square(t))
    (raw / "person03_jogging_d1_uncomp.avi").write_bytes(b"garbage, not a video" * 50)
    (raw / "clip.avi").write_bytes(b"x")
    (raw / "person04_dancing_d1_uncomp.avi").write_bytes(b"x")
    (raw / "00sequences.txt").write_text(
        "Sequences of the KTH dataset\n"
        "\n"
        "person01_boxing_d1\t\tframes\t1-5, 6-12\n"
        "person17_walking_d2\t\tframes\t2-4, 5-20, 30-40\n"
        "person99_boxing_d1\t\tframes\t1-5\n"
    )
    return raw


def resized(frame: np.ndarray, size: int) -> np.ndarray:
    img = Image.fromarray(frame).resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(img)


def read_video(folder) -> np.ndarray:
    return np.stack([np.asarray(Image.open(p)) for p in sorted(folder.glob("frame_*.png"))])


def test_whole_videos_split_by_person(raw_dir, tmp_path):
    summary = convert_kth(raw_dir, tmp_path / "out")
    assert summary.videos == {"train": 2, "test": 1}
    assert summary.frames == {"train": 12 + 10, "test": 8}
    assert summary.sources == {"train": 2, "test": 1}
    skipped = dict(summary.skipped)
    assert skipped["person03_jogging_d1_uncomp.avi"].startswith("cannot decode")
    assert "does not match personNN_<action>_dN_uncomp.avi" in skipped["clip.avi"]
    assert "unknown action 'dancing'" in skipped["person04_dancing_d1_uncomp.avi"]
    assert len(skipped) == 3
    train = tmp_path / "out" / "train"
    assert sorted(p.name for p in train.iterdir()) == ["video_00000", "video_00001"]
    meta = json.loads((train / "video_00000" / "meta.json").read_text())
    assert meta == {
        "person": 1,
        "action": "boxing",
        "label": 0,
        "scenario": "d1",
        "source": "person01_boxing_d1_uncomp.avi",
        "frames": [1, 12],
    }
    assert json.loads((train / "video_00001" / "meta.json").read_text())["action"] == "running"
    first = Image.open(train / "video_00000" / "frame_00000.png")
    assert first.mode == "L" and first.size == (128, 128)
    video = read_video(train / "video_00000")
    assert video.shape == (12, 128, 128) and video.dtype == np.uint8
    source = moving_square(12)
    for t in (0, 11):
        np.testing.assert_array_equal(video[t], resized(source[t], 128))
    test_meta = json.loads((tmp_path / "out" / "test" / "video_00000" / "meta.json").read_text())
    assert test_meta["person"] == 17 and test_meta["frames"] == [1, 8]
    assert "person03_jogging_d1_uncomp.avi: cannot decode" in str(summary)


def test_sequences_file_cuts_videos(raw_dir, tmp_path):
    with pytest.warns(UserWarning, match="person02_running_d3_uncomp.avi: no entry"):
        summary = convert_kth(
            raw_dir, tmp_path / "out", size=16, sequences_file=raw_dir / "00sequences.txt"
        )
    # person01: 1-5 and 6-12; person02 whole; person17: 2-4 and 5-8 (clamped), 30-40 dropped.
    assert summary.videos == {"train": 3, "test": 2}
    assert summary.frames == {"train": 5 + 7 + 10, "test": 3 + 4}
    assert ("person17_walking_d2 frames 30-40", "starts after the last decoded frame 8") in (
        summary.skipped
    )
    assert any("frames 5-20: ends at the last decoded frame 8" in n for n in summary.notes)
    out = tmp_path / "out"
    ranges = [
        json.loads((out / split / f"video_{i:05d}" / "meta.json").read_text())["frames"]
        for split, n in (("train", 3), ("test", 2))
        for i in range(n)
    ]
    assert ranges == [[1, 5], [6, 12], [1, 10], [2, 4], [5, 8]]
    second = read_video(out / "train" / "video_00001")
    source = moving_square(12)
    assert second.shape == (7, 16, 16)
    np.testing.assert_array_equal(second[0], resized(source[5], 16))
    ds = FrameFolderDataset(out / "test", 3)
    assert len(ds) == 1 + 2 and ds.metadata[1]["action"] == "walking"


def test_the_manifest_traces_every_folder_to_its_source(raw_dir, tmp_path):
    out = tmp_path / "out"
    with pytest.warns(UserWarning, match="no entry"):
        summary = convert_kth(raw_dir, out, size=16, sequences_file=raw_dir / "00sequences.txt")
    assert summary.manifest == out / "manifest.csv"
    with open(out / "manifest.csv", newline="") as f:
        reader = csv.DictReader(f)
        rows = list(reader)
    assert tuple(reader.fieldnames) == MANIFEST_COLUMNS
    source = {"person01_boxing_d1_uncomp.avi": ("1", "boxing", "d1")}
    source["person02_running_d3_uncomp.avi"] = ("2", "running", "d3")
    source["person17_walking_d2_uncomp.avi"] = ("17", "walking", "d2")
    expected = [
        ("train", "video_00000", "person01_boxing_d1_uncomp.avi", "1", "5"),
        ("train", "video_00001", "person01_boxing_d1_uncomp.avi", "6", "12"),
        ("train", "video_00002", "person02_running_d3_uncomp.avi", "1", "10"),
        ("test", "video_00000", "person17_walking_d2_uncomp.avi", "2", "4"),
        ("test", "video_00001", "person17_walking_d2_uncomp.avi", "5", "8"),
    ]
    assert rows == [
        dict(zip(MANIFEST_COLUMNS, (split, folder, name, *source[name], first, last), strict=True))
        for split, folder, name, first, last in expected
    ]
    for row in rows:  # the same facts as each folder's meta.json, and the frames it holds
        meta = json.loads((out / row["split"] / row["folder"] / "meta.json").read_text())
        assert meta["source"] == row["source"] and meta["action"] == row["action"]
        assert meta["frames"] == [int(row["first_frame"]), int(row["last_frame"])]
        frames = len(list((out / row["split"] / row["folder"]).glob("frame_*.png")))
        assert frames == int(row["last_frame"]) - int(row["first_frame"]) + 1
    assert f"manifest: {out / 'manifest.csv'}" in str(summary)


def test_a_conversion_is_written_whole_or_not_at_all(raw_dir, tmp_path):
    # A conversion that stops half way (here: its log callback fails after the first video)
    # leaves no output folder and no hidden temporary one.
    def fail(line):
        raise RuntimeError("stopped")

    with pytest.raises(RuntimeError, match="stopped"):
        convert_kth(raw_dir, tmp_path / "out", log=fail)
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    # A killed one leaves its hidden folder (its writer's process is gone): the next removes it.
    stale = tmp_path / ".tmp-999999999-0123abcd-out"
    (stale / "train" / "video_00000").mkdir(parents=True)
    summary = convert_kth(raw_dir, tmp_path / "out")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]
    assert summary.manifest == tmp_path / "out" / "manifest.csv" and summary.manifest.is_file()
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["manifest.csv", "test", "train"]


def test_parse_sequences_tolerates_noise(tmp_path):
    path = tmp_path / "sequences.txt"
    path.write_text(
        "header line\n\n  person05_handwaving_d4 frames 1-3,4-9 , 10 - 12\nperson05 garbage\n"
    )
    assert parse_sequences(path) == {"person05_handwaving_d4": [(1, 3), (4, 9), (10, 12)]}


def test_person_splits_and_arguments(raw_dir, tmp_path):
    summary = convert_kth(raw_dir, tmp_path / "a", persons_train=[1], persons_test=[17])
    assert ("person02_running_d3_uncomp.avi", "person 2 in neither split") in summary.skipped
    only = convert_kth(raw_dir, tmp_path / "b", actions=["walking"])
    assert only.videos == {"train": 0, "test": 1}
    with pytest.raises(ValueError, match=r"\['dance'\]; valid actions: boxing, handclapping"):
        convert_kth(raw_dir, tmp_path / "c", actions=["dance"])
    with pytest.raises(ValueError, match=r"persons \[3\] are in both"):
        convert_kth(raw_dir, tmp_path / "c", persons_train=[1, 3], persons_test=[3])
    with pytest.raises(FileExistsError, match="train is not empty"):
        convert_kth(raw_dir, tmp_path / "a")
    with pytest.raises(FileNotFoundError, match="missing"):
        convert_kth(tmp_path / "missing", tmp_path / "d")
    assert len(ACTIONS) == 6


def test_a_video_over_the_frame_cap_is_skipped_naming_the_limit(raw_dir, tmp_path):
    # 12 frames against a cap of 10: the 60,000-frame AVI of issue 27 at the scale of a test.
    summary = convert_kth(raw_dir, tmp_path / "out", size=16, max_frames=10)
    skipped = dict(summary.skipped)
    assert skipped["person01_boxing_d1_uncomp.avi"] == (
        "more than 10 frames; the limit per video is 10 (6.7 minutes at KTH's 25 fps)"
    )
    assert summary.videos == {"train": 1, "test": 1}  # the 10- and 8-frame videos are kept
