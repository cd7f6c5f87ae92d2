"""What the dashboard shows, as files: each function turns one thing into the bytes of a file.

Frames become an animated GIF (Pillow) or an MP4 (H.264 by the ffmpeg binary that the
`imageio-ffmpeg` wheel bundles, so nothing is downloaded), arrays `.npy` / `.npz` (no pickles),
tables CSV or Parquet (Parquet only when pyarrow is installed), Plotly figures a ZIP of HTML
pages that share one copy of plotly.js and so open offline. A memory trace and a dataset pass
become tables or arrays whose columns say what they hold. Notebooks call the same functions as
the dashboard.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from lmc.analysis.dataset_pass import DatasetPass
from lmc.analysis.recall import TraceArrays, normalised_entropy
from lmc.analysis.slots import SlotUsage

if TYPE_CHECKING:  # pandas is imported where a table is made: the Model page needs none
    import pandas as pd

MS_PER_FRAME = 300  # the dashboard's animation speed


# --------------------------------------------------------------------------------- names
def export_name(*parts: object, ext: str) -> str:
    """A file name from its parts (model, clip, what, phase): lower case, words joined by '-',
    parts by '_', nothing a file system or a shell would trip on. Empty parts are left out."""
    words = []
    for part in parts:
        text = str(part).lower().replace("°", " deg")  # "45°" -> "45-deg", not "45"
        slug = re.sub(r"[^a-z0-9.]+", "-", text).strip("-.")
        if slug:
            words.append(slug[:48].rstrip("-."))
    if not words:
        raise ValueError("export_name needs at least one non-empty part")
    return "_".join(words) + "." + ext.lstrip(".")


# -------------------------------------------------------------------------------- frames
def _check_frames(frames: np.ndarray) -> np.ndarray:
    frames = np.asarray(frames)
    if frames.ndim != 4 or frames.shape[-1] != 3 or frames.dtype != np.uint8 or not len(frames):
        raise ValueError(
            f"frames must be (T >= 1, H, W, 3) uint8; got {frames.shape} {frames.dtype}"
        )
    return frames


def gif_bytes(frames: np.ndarray, ms_per_frame: int = MS_PER_FRAME) -> bytes:
    """(T, H, W, 3) uint8 -> an animated GIF that loops, one palette per frame."""
    from PIL import Image

    frames = _check_frames(frames)
    images = [
        Image.fromarray(f).convert("P", palette=Image.Palette.ADAPTIVE, colors=256) for f in frames
    ]
    out = io.BytesIO()
    images[0].save(
        out, format="GIF", save_all=True, append_images=images[1:], duration=ms_per_frame, loop=0
    )
    return out.getvalue()


def mp4_bytes(frames: np.ndarray, ms_per_frame: int = MS_PER_FRAME) -> bytes:
    """(T, H, W, 3) uint8 -> an H.264 MP4 (yuv420p, what browsers and players read).

    yuv420p halves the chroma resolution, so an odd side gets one white row or column; the
    moov box goes first (faststart) so a browser plays the file while it loads.
    """
    import imageio_ffmpeg

    frames = _check_frames(frames)
    _, h, w, _ = frames.shape
    frames = np.pad(frames, ((0, 0), (0, h % 2), (0, w % 2), (0, 0)), constant_values=255)
    with tempfile.TemporaryDirectory(prefix="lmc-mp4-") as folder:
        path = Path(folder) / "video.mp4"  # the MP4 muxer seeks back: it needs a file, not a pipe
        writer = imageio_ffmpeg.write_frames(
            str(path),
            (frames.shape[2], frames.shape[1]),
            fps=1000.0 / ms_per_frame,
            codec="libx264",
            pix_fmt_out="yuv420p",
            macro_block_size=1,
            quality=None,
            output_params=["-crf", "18", "-movflags", "+faststart"],
            ffmpeg_log_level="error",
        )
        writer.send(None)  # start ffmpeg
        for frame in frames:
            writer.send(np.ascontiguousarray(frame))
        writer.close()
        return path.read_bytes()


def png_bytes(image: np.ndarray) -> bytes:
    """(H, W, 3) or (H, W) uint8 -> PNG."""
    from PIL import Image

    out = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(out, format="PNG")
    return out.getvalue()


# -------------------------------------------------------------------------------- arrays
def npy_bytes(array: np.ndarray) -> bytes:
    """One array as `.npy` (numeric dtypes only: no pickles)."""
    out = io.BytesIO()
    np.save(out, np.asarray(array), allow_pickle=False)
    return out.getvalue()


def npz_bytes(arrays: Mapping[str, np.ndarray | int | tuple]) -> bytes:
    """Named arrays as a compressed `.npz` (no pickles)."""
    out = io.BytesIO()
    np.savez_compressed(out, **{name: np.asarray(value) for name, value in arrays.items()})
    return out.getvalue()


def trace_arrays_dict(trace: TraceArrays, gates: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """One recall as named arrays: query, readout (cells, D); cosine, weights (cells, S); grid
    (rows, cols); phase (1 long window, 2 short input); gates (out_len, F) when given; overridden
    (cells,) when the recall was forced."""
    arrays = {
        "query": trace.query,
        "cosine": trace.cosine,
        "weights": trace.weights,
        "readout": trace.readout,
        "grid": np.asarray(trace.grid, dtype=np.int64),
        "phase": np.asarray(trace.phase, dtype=np.int64),
    }
    if gates is not None:
        arrays["gates"] = np.asarray(gates)
    if trace.overridden is not None:
        arrays["overridden"] = np.asarray(trace.overridden)
    return arrays


def trace_npz(trace: TraceArrays, gates: np.ndarray | None = None) -> bytes:
    """`trace_arrays_dict` as `.npz`."""
    return npz_bytes(trace_arrays_dict(trace, gates))


# -------------------------------------------------------------------------------- tables
def csv_bytes(table: pd.DataFrame | list[dict]) -> bytes:
    """A table as UTF-8 CSV, without the index."""
    import pandas as pd

    return pd.DataFrame(table).to_csv(index=False).encode("utf-8")


def parquet_available() -> bool:
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return False
    return True


def parquet_bytes(table: pd.DataFrame | list[dict]) -> bytes:
    """A table (a DataFrame or a list of rows, as `csv_bytes` takes) as Parquet (needs pyarrow;
    see `parquet_available`)."""
    import pandas as pd

    if not parquet_available():
        raise RuntimeError("Parquet export needs pyarrow: pip install pyarrow, or export CSV")
    out = io.BytesIO()
    pd.DataFrame(table).to_parquet(out, index=False, engine="pyarrow")
    return out.getvalue()


def _cell_metadata(sample: DatasetPass, clip: np.ndarray, cell: np.ndarray) -> dict[str, object]:
    """Columns of what is known about each (clip, cell): its place and the true motion."""
    cols = sample.grid[1]
    columns: dict[str, object] = {
        "clip": sample.clip_index[clip],
        "cell": cell,
        "cell_row": cell // cols,
        "cell_col": cell % cols,
    }
    if sample.direction is not None:
        # Counter-clockwise from +x with y up (0 = right, 90 = up); NaN where no digit passed.
        columns["true_direction_deg"] = np.degrees(sample.direction[clip, cell])
        columns["true_speed_px_per_frame"] = sample.speed[clip, cell]
        columns["occupancy"] = sample.occupancy[clip, cell]
    if sample.cell_digit is not None:
        columns["digit"] = sample.cell_digit[clip, cell]  # -1: no digit in the cell
    if sample.actions is not None:
        names = np.asarray(sample.action_names or [str(a) for a in range(sample.actions.max() + 1)])
        columns["action"] = names[sample.actions[clip]]
    return columns


def _recall_columns(weights: np.ndarray, cosine: np.ndarray, prefix: str) -> dict[str, np.ndarray]:
    """Per-row summaries of an addressing (rows, S): top slot, its weight, weight above 1/S,
    cosine, and the entropy over log S."""
    top = weights.argmax(axis=-1)
    top_weight = np.take_along_axis(weights, top[:, None], axis=-1)[:, 0]
    return {
        f"{prefix}top_slot": top,
        f"{prefix}top_weight": top_weight,
        f"{prefix}top_weight_above_uniform": top_weight - 1.0 / weights.shape[-1],
        f"{prefix}top_cosine": np.take_along_axis(cosine, top[:, None], axis=-1)[:, 0],
        f"{prefix}entropy_over_log_s": normalised_entropy(weights),
    }


def pass_table(sample: DatasetPass) -> pd.DataFrame:
    """A dataset pass as one row per (clip, cell): the clip's index in its source, the cell and
    its place on the grid, the true motion and digit when known, and for each recall (short
    input, phase 2; long window, phase 1, when the pass has one) the top slot, its weight, its
    weight above uniform, its cosine and the entropy over log S."""
    import pandas as pd

    n, cells = sample.num_clips, sample.num_cells
    clip, cell = np.divmod(np.arange(n * cells), cells)
    columns = _cell_metadata(sample, clip, cell)
    for phase in ("short", "long") if sample.has_long else ("short",):
        arrays = sample.phase(phase)
        size = arrays["weights"].shape[-1]
        columns.update(
            _recall_columns(
                arrays["weights"].reshape(-1, size),
                arrays["cosine"].reshape(-1, size),
                f"{phase}_",
            )
        )
    return pd.DataFrame(columns)


def usage_table(usage: SlotUsage) -> pd.DataFrame:
    """A memory's slot usage (lmc.analysis.slots.slot_usage) as one row per slot: how often it is
    the top choice (count, and share of the queries), its mean weight, that weight above the
    uniform 1/S, and whether it is dead (never the top choice, or at most the threshold's share)."""
    import pandas as pd

    return pd.DataFrame(
        {
            "slot": np.arange(len(usage.top1_count)),
            "top1_count": usage.top1_count,
            "top1_share": usage.top1_fraction,
            "mean_weight": usage.mean_weight,
            "mean_weight_above_uniform": usage.mean_centred,
            "dead": usage.dead,
        }
    )


def embedding_table(
    sample: DatasetPass,
    phase: str,
    index: np.ndarray,
    contexts: np.ndarray,
    slots: np.ndarray | None,
    method: str,
    space: str,
) -> pd.DataFrame:
    """A 2-D map as one row per point: the contexts (flat clip * cells + cell indices `index`,
    map coordinates `contexts` (N, 2)) with their metadata and the recall's top slot, then the
    memory slots (S, 2) when placed, `kind` telling them apart. method: "pca" or "umap"; space:
    "readout" or "query"; phase: "short" or "long"."""
    import pandas as pd

    index = np.asarray(index)
    contexts = np.asarray(contexts)
    if contexts.shape != (len(index), 2):
        raise ValueError(f"contexts {contexts.shape} must be ({len(index)}, 2), one per index")
    clip, cell = np.divmod(index, sample.num_cells)
    arrays = sample.phase(phase)
    columns: dict[str, object] = {"kind": "context", "x": contexts[:, 0], "y": contexts[:, 1]}
    columns.update(_cell_metadata(sample, clip, cell))
    columns.update(_recall_columns(arrays["weights"][clip, cell], arrays["cosine"][clip, cell], ""))
    table = pd.DataFrame(columns)
    if slots is not None:
        slots = np.asarray(slots)
        placed = pd.DataFrame(
            {"kind": "slot", "x": slots[:, 0], "y": slots[:, 1], "slot": np.arange(len(slots))}
        )
        table = pd.concat([table, placed], ignore_index=True)
    table.insert(0, "map", method)
    table.insert(1, "space", space)
    table.insert(2, "phase", phase)
    return table


# ------------------------------------------------------------------------------- figures
PLOTLY_JS = "plotly.min.js"  # the archive's one copy of plotly.js, beside the pages that load it


def figures_zip(figures: Mapping[str, object], title: str) -> bytes:
    """Plotly figures as one ZIP that opens offline once unpacked: `index.html` with every
    figure under its name, one page per figure (`<name>.html`) and plotly.js once
    (`plotly.min.js`, 4.8 MB, about 1.4 MB packed), which every page loads by its relative
    path: no CDN, no MathJax. Without figures, index.html says there are none."""
    import zipfile

    from plotly.offline import get_plotlyjs

    def div(figure, load_plotly: bool) -> str:
        plotly = "directory" if load_plotly else False  # "directory": <script src=plotly.min.js>
        return figure.to_html(include_plotlyjs=plotly, full_html=False, include_mathjax=False)

    pages, index = {}, []
    for k, (name, figure) in enumerate(figures.items()):
        file_name = export_name(name, ext="html")
        while file_name in pages or file_name in ("index.html", PLOTLY_JS):
            file_name = file_name.removesuffix(".html") + "-2.html"
        pages[file_name] = html_page(name, div(figure, True))
        index.append(
            f'<h2><a href="{_escape(file_name)}">{_escape(name)}</a></h2>\n{div(figure, k == 0)}'
        )
    body = "\n".join(index) or "<p>No figure was on the page.</p>"
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("index.html", html_page(title, body))
        for file_name, page in pages.items():
            archive.writestr(file_name, page)
        if pages:
            archive.writestr(PLOTLY_JS, get_plotlyjs())
    return out.getvalue()


def html_page(title: str, body: str) -> bytes:
    """A whole HTML page with `title` as its heading over `body` (HTML, inserted as given)."""
    page = (
        f'<!DOCTYPE html>\n<html>\n<head><meta charset="utf-8"><title>{_escape(title)}</title>'
        f"</head>\n<body>\n<h1>{_escape(title)}</h1>\n{body}\n</body>\n</html>\n"
    )
    return page.encode("utf-8")


def _escape(text: str) -> str:
    import html

    return html.escape(str(text))
