"""lmc.analysis.exports: every file decodes back to what was exported (Pillow for GIF, ffmpeg
for MP4, numpy for .npy / .npz, pandas for CSV and Parquet), and HTML figures open offline."""

import io
import re

import numpy as np
import pandas as pd
import pytest
import torch

from lmc import build_model
from lmc.analysis import dataset_pass as dp
from lmc.analysis import exports as ex
from lmc.analysis.inputs import Clip
from lmc.analysis.recall import recall_view
from lmc.data import generate_clips

COLOURS = np.array([[255, 0, 0], [0, 128, 255], [20, 200, 40], [250, 250, 250]], np.uint8)


def flat_frames(t: int, h: int, w: int) -> np.ndarray:
    """(t, h, w, 3) frames, each one flat colour of COLOURS with a black square that moves."""
    frames = np.repeat(COLOURS[np.arange(t) % len(COLOURS)][:, None, None], h, 1).repeat(w, 2)
    for k in range(t):
        frames[k, 2:6, k : k + 4] = 0
    return frames


@pytest.fixture(scope="module")
def tiny():
    torch.manual_seed(0)
    return build_model("tiny")


@pytest.fixture(scope="module")
def sample(tiny):
    clips = generate_clips(3, 14, seed=3, split="test", image_size=32)
    return dp.run_dataset_pass(
        tiny,
        clips.frames,
        10,
        positions=clips.positions,
        velocities=clips.velocities,
        labels=clips.labels,
    )


def test_export_names_say_what_they_hold():
    name = ex.export_name("lmc-small-mnist", "test clip 0", "recall", "phase2", ext="npz")
    assert name == "lmc-small-mnist_test-clip-0_recall_phase2.npz"
    probe = "motion probe: digit 3 at 45°, 2.5 px/frame"
    assert ex.export_name("demo", probe, "", ext=".gif") == (
        "demo_motion-probe-digit-3-at-45-deg-2.5-px-frame.gif"
    )
    assert ex.export_name("../../etc/passwd", ext="csv") == "etc-passwd.csv"
    with pytest.raises(ValueError, match="non-empty"):
        ex.export_name("", "  ", ext="csv")


def test_gif_holds_every_frame_at_its_size_and_colour():
    from PIL import Image, ImageSequence

    frames = flat_frames(6, 20, 30)
    data = ex.gif_bytes(frames, ms_per_frame=120)
    image = Image.open(io.BytesIO(data))
    assert image.format == "GIF" and image.n_frames == 6 and image.size == (30, 20)
    assert image.info["duration"] == 120 and image.info["loop"] == 0
    decoded = np.stack([np.asarray(f.convert("RGB")) for f in ImageSequence.Iterator(image)])
    np.testing.assert_array_equal(decoded, frames)  # four colours and black: no dithering
    with pytest.raises(ValueError, match="uint8"):
        ex.gif_bytes(frames.astype(np.float32))


def test_mp4_is_an_h264_file_of_every_frame():
    import imageio.v3 as iio

    frames = flat_frames(7, 21, 33)  # odd sides: padded to even for yuv420p
    data = ex.mp4_bytes(frames, ms_per_frame=250)
    assert data[4:8] == b"ftyp"
    meta = iio.immeta(data, extension=".mp4", plugin="FFMPEG")
    assert meta["codec"] == "h264" and meta["fps"] == pytest.approx(4.0)
    decoded = iio.imread(data, extension=".mp4", plugin="FFMPEG")
    assert decoded.shape == (7, 22, 34, 3)
    # Lossy, but each frame keeps its colour (away from the moving square and the padding).
    means = decoded[:, 10:20, 10:30].reshape(7, -1, 3).mean(axis=1)
    np.testing.assert_allclose(means, frames[:, 10:20, 10:30].reshape(7, -1, 3).mean(1), atol=12)


def test_arrays_round_trip_exactly(tiny):
    frames = np.random.default_rng(0).random((1, 5, 1, 32, 32), dtype=np.float32)
    np.testing.assert_array_equal(np.load(io.BytesIO(ex.npy_bytes(frames))), frames)
    clip = Clip(
        generate_clips(1, 20, seed=1, split="test", image_size=32).frames[0, :, None] / 255,
        10,
        "test clip 0",
    )
    view = recall_view(tiny, clip)
    with np.load(io.BytesIO(ex.trace_npz(view.short, view.gates)), allow_pickle=False) as data:
        assert set(data.files) == {
            "query",
            "cosine",
            "weights",
            "readout",
            "grid",
            "phase",
            "gates",
        }
        for name in ("query", "cosine", "weights", "readout"):
            np.testing.assert_array_equal(data[name], getattr(view.short, name))
        np.testing.assert_array_equal(data["gates"], view.gates)
        assert data["grid"].tolist() == [2, 2] and int(data["phase"]) == 2
    assert view.long_gates is not None and view.long_gates.shape == view.gates.shape
    with np.load(io.BytesIO(ex.trace_npz(view.long, view.long_gates))) as data:
        assert int(data["phase"]) == 1
        np.testing.assert_array_equal(data["weights"], view.long.weights)
        np.testing.assert_array_equal(data["gates"], view.long_gates)


def test_pass_table_has_a_row_per_clip_and_cell(sample):
    table = ex.pass_table(sample)
    assert len(table) == 3 * 4
    read = pd.read_csv(io.BytesIO(ex.csv_bytes(table)))
    assert list(read.columns) == list(table.columns)
    assert {
        "clip",
        "cell",
        "cell_row",
        "cell_col",
        "true_direction_deg",
        "true_speed_px_per_frame",
    } <= set(read.columns)
    assert {"digit", "short_top_slot", "long_top_slot", "short_entropy_over_log_s"} <= set(
        read.columns
    )
    assert read["clip"].tolist() == [0] * 4 + [1] * 4 + [2] * 4
    assert read["cell"].tolist() == [0, 1, 2, 3] * 3
    assert read["cell_row"].tolist() == [0, 0, 1, 1] * 3
    np.testing.assert_array_equal(
        read["short_top_slot"], sample.short_weights.argmax(-1).reshape(-1)
    )
    np.testing.assert_array_equal(read["long_top_slot"], sample.long_weights.argmax(-1).reshape(-1))
    np.testing.assert_allclose(
        read["true_speed_px_per_frame"], sample.speed.reshape(-1), rtol=1e-6, equal_nan=True
    )
    np.testing.assert_array_equal(read["digit"], sample.cell_digit.reshape(-1))
    top = sample.short_weights.max(-1).reshape(-1)
    np.testing.assert_allclose(
        read["short_top_weight_above_uniform"], top - 1 / sample.memory_size, rtol=1e-6
    )
    if ex.parquet_available():
        back = pd.read_parquet(io.BytesIO(ex.parquet_bytes(table)))
        pd.testing.assert_frame_equal(back, table)


def test_embedding_table_lists_points_then_slots(sample):
    index = np.array([0, 5, 11])
    points = np.array([[0.5, 1.0], [2.0, -1.0], [3.0, 0.25]])
    slots = np.arange(2.0 * sample.memory_size).reshape(-1, 2)
    table = ex.embedding_table(sample, "long", index, points, slots, "pca", "readout")
    read = pd.read_csv(io.BytesIO(ex.csv_bytes(table)))
    assert len(read) == 3 + sample.memory_size
    assert read["kind"].tolist() == ["context"] * 3 + ["slot"] * sample.memory_size
    assert set(read["map"]) == {"pca"} and set(read["phase"]) == {"long"}
    assert read["clip"][:3].tolist() == [0, 1, 2] and read["cell"][:3].tolist() == [0, 1, 3]
    np.testing.assert_allclose(read[["x", "y"]].to_numpy(), np.vstack([points, slots]))
    assert read["slot"][3:].tolist() == list(range(sample.memory_size))
    top = sample.long_weights.reshape(-1, sample.memory_size)[index].argmax(-1)
    assert read["top_slot"][:3].tolist() == top.tolist()
    with pytest.raises(ValueError, match="one per index"):
        ex.embedding_table(sample, "short", index, points[:2], None, "pca", "query")


def test_usage_table_counts_each_slots_top_choices():
    from lmc.analysis.slots import slot_usage

    # 4 queries over 3 slots: slot 0 tops three, slot 1 one, slot 2 none.
    weights = np.array([[0.6, 0.3, 0.1], [0.5, 0.4, 0.1], [0.2, 0.7, 0.1], [0.4, 0.3, 0.3]])
    read = pd.read_csv(io.BytesIO(ex.csv_bytes(ex.usage_table(slot_usage(weights)))))
    assert read["slot"].tolist() == [0, 1, 2]
    assert read["top1_count"].tolist() == [3, 1, 0]
    np.testing.assert_allclose(read["top1_share"], [0.75, 0.25, 0.0])
    np.testing.assert_allclose(read["mean_weight"], [0.425, 0.425, 0.15])
    np.testing.assert_allclose(
        read["mean_weight_above_uniform"], np.array([0.425, 0.425, 0.15]) - 1 / 3
    )
    assert read["dead"].tolist() == [False, False, True]


def test_figures_zip_holds_each_figure_and_plotly_once():
    import zipfile

    import plotly.graph_objects as go

    fig = go.Figure(go.Scatter(x=[1, 2, 3], y=[0.125, 0.375, 0.625], name="slot 7 share"))
    figures = {"Slot usage": fig, "second <b>": go.Figure(go.Bar(y=[4, 5])), "slot usage": fig}
    archive = zipfile.ZipFile(io.BytesIO(ex.figures_zip(figures, "Recall")))
    names = archive.namelist()
    assert sorted(names) == sorted(
        ["index.html", "slot-usage.html", "second-b.html", "slot-usage-2.html", ex.PLOTLY_JS]
    )
    plotly_js = archive.read(ex.PLOTLY_JS)
    assert len(plotly_js) > 1_000_000 and b"plotly.js" in plotly_js[:1000]
    loads = re.compile(r'<script[^>]+src="([^"]+)"')
    for name in names[:-1]:
        html = archive.read(name).decode()
        # plotly.js comes from the archive's one copy, by its relative path, never from a CDN.
        assert loads.findall(html) == [ex.PLOTLY_JS] and len(html) < 100_000, name
    one = archive.read("slot-usage.html").decode()
    assert "<title>Slot usage</title>" in one and "[0.125,0.375,0.625]" in one
    assert "slot 7 share" in one and one.count("Plotly.newPlot") == 1
    index = archive.read("index.html").decode()
    assert index.count("<h2>") == 3 and "second &lt;b&gt;" in index
    assert index.count("Plotly.newPlot") == 3 and 'href="second-b.html"' in index
    empty = zipfile.ZipFile(io.BytesIO(ex.figures_zip({}, "Recall")))
    assert empty.namelist() == ["index.html"]
    assert "No figure" in empty.read("index.html").decode()


@pytest.mark.skipif(not ex.parquet_available(), reason="pyarrow is not installed")
def test_parquet_takes_rows_as_csv_does():
    # Pages hand both writers a list of rows (Rollout's scores, Health's figures).
    rows = [{"method": "LMC", "frame": 1, "mse": 0.5}, {"method": "copy", "frame": 1, "mse": 2.0}]
    back = pd.read_parquet(io.BytesIO(ex.parquet_bytes(rows)))
    pd.testing.assert_frame_equal(back, pd.read_csv(io.BytesIO(ex.csv_bytes(rows))))
