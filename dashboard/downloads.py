"""Each page's download area: what the user sees, as files (lmc.analysis.exports makes the bytes).

A page lists `Download`s (a label, a file name, a MIME type and a function that makes the bytes)
and calls `download_area` once, at its end. The bytes are made when the button is pressed, not
on every rerun (Streamlit's deferred download): a page's figures are a ZIP of HTML pages with
plotly.js (4.8 MB) once. Panels that rerun alone (fragments) put what they draw on a `Shelf`, which the download
functions read when pressed, so a download holds what the panel shows now.

File names say what they hold: `<model>_<clip>_<what>[_<phase>].<ext>`.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import streamlit as st

from lmc.analysis import exports as ex

COLUMNS = 3
FIGURES_LABEL = "figures (HTML in a ZIP)"
HTML_HELP = (
    "Interactive HTML, one page per figure and all on index.html, with one copy of plotly.js "
    "beside them: unpack the ZIP and they open offline in any browser."
)


@dataclass(frozen=True)
class Download:
    """One button: `make()` returns the file's bytes when the button is pressed."""

    name: str  # short and unique on its page: the widget key's last part
    label: str
    file_name: str
    mime: str
    make: Callable[[], bytes]
    figure: bool = False  # listed under "Figures"


@dataclass
class Shelf:
    """What a page's panels drew last: figures by their title, and any other object by name."""

    figures: dict[str, object] = field(default_factory=dict)
    things: dict[str, object] = field(default_factory=dict)

    def figure(self, title: str, fig):
        """Keep `fig` under `title` and return it, for `st.plotly_chart(shelf.figure(...))`."""
        self.figures[title] = fig
        return fig

    def drop(self, *titles: str) -> None:
        """Forget figures a panel no longer shows (it draws those it shows again)."""
        for title in titles:
            self.figures.pop(title, None)


def download_key(page: type, name: str) -> str:
    """The button's widget key, in its page's namespace (dashboard/keys.py); '.button' keeps it
    out of the values kept across pages."""
    return f"{page.__name__.lower()}.download.{name}.button"


def download_area(page: type, items: list[Download], note: str | None = None) -> None:
    """The page's download area: an expander with a button per file, data first, then figures."""
    with st.expander("Download", icon=":material/download:"):
        if note:
            st.caption(note)
        data = [i for i in items if not i.figure]
        figures = [i for i in items if i.figure]
        for group, title in ((data, None), (figures, "Figures")):
            if not group:
                continue
            if title:
                st.markdown(f"**{title}**", help=HTML_HELP)
            columns = st.columns(COLUMNS)
            for k, item in enumerate(group):
                columns[k % COLUMNS].download_button(
                    item.label,
                    item.make,
                    file_name=item.file_name,
                    mime=item.mime,
                    key=download_key(page, item.name),
                    help=f"`{item.file_name}`",
                    on_click="ignore",
                    icon=":material/download:",
                    width="stretch",
                )


# ------------------------------------------------------------------------------- builders
def model_name(loaded) -> str:
    """A short name of the checkpoint for file names: the file's stem, with its run folder when
    the stem says nothing alone (best, last), the user's file name for an upload."""
    from dashboard.model_state import upload_dir

    path = loaded.path
    if path.is_relative_to(upload_dir()):
        return loaded.label.removeprefix("upload: ").rsplit(".", 1)[0]
    if path.stem in ("best", "last"):
        return f"{path.parent.name}-{path.stem}"
    return path.stem


def figure_downloads(shelf: Shelf, stem: tuple[str, ...], page_title: str) -> list[Download]:
    """The figures on the shelf as they are when the button is pressed: one ZIP of HTML pages
    (all of them on index.html, and one page each) sharing one copy of plotly.js."""
    if not shelf.figures:
        return []
    return [
        Download(
            name="figures",
            label=FIGURES_LABEL,
            file_name=ex.export_name(*stem, page_title, "figures", ext="zip"),
            mime="application/zip",
            make=lambda: ex.figures_zip(dict(shelf.figures), page_title),
            figure=True,
        )
    ]


def table_downloads(
    name: str, label: str, stem: tuple[str, ...], make_table: Callable[[], object]
) -> list[Download]:
    """A table as CSV and, when pyarrow is installed, as Parquet."""
    items = [
        Download(
            name=f"{name}.csv",
            label=f"{label} (CSV)",
            file_name=ex.export_name(*stem, name, ext="csv"),
            mime="text/csv",
            make=lambda: ex.csv_bytes(make_table()),
        )
    ]
    if ex.parquet_available():
        items.append(
            Download(
                name=f"{name}.parquet",
                label=f"{label} (Parquet)",
                file_name=ex.export_name(*stem, name, ext="parquet"),
                mime="application/vnd.apache.parquet",
                make=lambda: ex.parquet_bytes(make_table()),
            )
        )
    return items


def json_download(name: str, label: str, stem: tuple[str, ...], value) -> Download:
    return Download(
        name=f"{name}.json",
        label=label,
        file_name=ex.export_name(*stem, name, ext="json"),
        mime="application/json",
        make=lambda: (json.dumps(value, indent=1, default=str) + "\n").encode(),
    )


def rollout_downloads(loaded, clip, main, preds: dict, named: dict, second=None) -> None:
    """The Rollout page's download area (`rollout_items`)."""
    from dashboard.keys import Rollout as Keys

    download_area(
        Keys,
        rollout_items(model_name(loaded), clip, main, preds, named, second),
        note="The .npy files keep the layout of other methods' results, (N, T, C, H, W) floats "
        "in [0, 1] with N = 1. Named inputs.npy, trues.npy and preds.npy in one folder, they "
        "open in 'Other methods' predictions' when the prediction is as long as the ground truth.",
    )


def rollout_items(model: str, clip, main, preds: dict, named: dict, second=None) -> list[Download]:
    """The Rollout page's downloads: the animation (GIF, MP4) of the ground truth beside
    every prediction, the frames as `.npy` in the layout of other methods' results (inputs,
    trues, preds: (1, T, C, H, W), which the page's "other methods" reads back), the per-frame
    scores and their figure.

    model: its name in file names; main: the model's `Rollout`; preds: {method: (out_len, C,
    H, W)} as shown (the model first); named: {method: {metric: (T,)}} the scores ({} without
    ground truth); second: the second checkpoint's `Rollout` or None.
    """
    from dashboard.series import GROUND_TRUTH, MODEL, SECOND_MODEL, shown
    from dashboard.widgets import animation_sheets, per_frame_figure, to_rgb

    stem = (model, clip.source)
    target = main.target
    short_len = len(main.inputs)

    def sheets() -> np.ndarray:
        truth = np.concatenate([main.inputs, target]) if target is not None else main.inputs
        panels = [(GROUND_TRUTH if target is not None else "input", to_rgb(truth))]
        for label, pred in preds.items():
            panels.append((shown(label), to_rgb(np.concatenate([main.inputs, pred]))))
        return animation_sheets(panels, short_len)

    def npy(name: str, label: str, frames: np.ndarray) -> Download:
        return Download(
            name=name,
            label=label,
            file_name=ex.export_name(*stem, name, ext="npy"),
            mime="application/octet-stream",
            make=lambda: ex.npy_bytes(np.asarray(frames, dtype=np.float32)[None]),
        )

    items = [
        Download(
            name="gif",
            label="animation (GIF)",
            file_name=ex.export_name(*stem, "rollout", ext="gif"),
            mime="image/gif",
            make=lambda: ex.gif_bytes(sheets()),
        ),
        Download(
            name="mp4",
            label="animation (MP4)",
            file_name=ex.export_name(*stem, "rollout", ext="mp4"),
            mime="video/mp4",
            make=lambda: ex.mp4_bytes(sheets()),
        ),
        npy("inputs", "input frames (.npy)", main.inputs),
    ]
    if target is not None:
        items.append(npy("trues", "ground truth (.npy)", target))
    items.append(npy("preds", "prediction (.npy)", main.pred))
    shelf = Shelf()
    if named:

        def scores():
            return [
                {"method": method, "frame": t + 1, **{m: float(v[t]) for m, v in values.items()}}
                for method, values in named.items()
                for t in range(len(values["mse"]))
            ]

        items += table_downloads("scores", "per-frame scores", stem, scores)
        gates = {MODEL: main.gate} if main.gate is not None else {}
        if second is not None and second.gate is not None:
            gates[SECOND_MODEL] = second.gate
        shelf.figure("per-frame scores", per_frame_figure(named, gates))
    return items + figure_downloads(shelf, stem, "Rollout")


def model_downloads(loaded, records: list[dict] | None, card: str | None, shelf: Shelf) -> None:
    """The Model page's: the configuration, the model card, the training log and its curves."""
    from dashboard.keys import Model as Keys

    stem = (model_name(loaded),)
    items = [json_download("config", "configuration (JSON)", stem, loaded.model.config.to_dict())]
    if card:
        items.append(
            Download(
                name="card",
                label="model card (Markdown)",
                file_name=ex.export_name(*stem, "model-card", ext="md"),
                mime="text/markdown",
                make=lambda: card.encode("utf-8"),
            )
        )
    if records:

        def log():
            import pandas as pd

            return pd.json_normalize(records, sep=".")

        items += table_downloads("training-log", "training log", stem, log)
    items += figure_downloads(shelf, stem, "Model")
    download_area(Keys, items)


def input_downloads(clip) -> None:
    """The Input page's download area (`input_items`)."""
    from dashboard.keys import Input as Keys

    download_area(Keys, input_items(clip))


def input_items(clip) -> list[Download]:
    """The Input page's downloads: the clip's frames as `.npy` (T, C, H, W) in [0, 1], its
    animation as a GIF and, when known, the true motion of its digits per frame (CSV)."""
    from dashboard.widgets import animation_sheets, to_rgb

    stem = (clip.source,)
    items = [
        Download(
            name="frames",
            label="frames (.npy)",
            file_name=ex.export_name(*stem, "frames", ext="npy"),
            mime="application/octet-stream",
            make=lambda: ex.npy_bytes(clip.frames),
        ),
        Download(
            name="gif",
            label="animation (GIF)",
            file_name=ex.export_name(*stem, ext="gif"),
            mime="image/gif",
            make=lambda: ex.gif_bytes(
                animation_sheets([("clip", to_rgb(clip.frames))], clip.short_len)
            ),
        ),
    ]
    if clip.motion is not None:

        def motion():
            m = clip.motion
            steps, digits = m.positions.shape[:2]
            return [
                {
                    "frame": t + 1,
                    "input": t < clip.short_len,
                    "digit_slot": d,
                    "digit": int(m.labels[d]),
                    "y": float(m.positions[t, d, 0]),
                    "x": float(m.positions[t, d, 1]),
                    "dy": float(m.velocities[t, d, 0]),
                    "dx": float(m.velocities[t, d, 1]),
                }
                for t in range(steps)
                for d in range(digits)
            ]

        items += table_downloads("true-motion", "true motion", stem, motion)
    return items


def health_downloads(loaded, report, rows: list[dict]) -> None:
    """The Memory health page's: the whole report (a HealthReport, as JSON) and the table of
    figures (CSV)."""
    from dashboard.keys import Health as Keys

    stem = (model_name(loaded), f"{report.clips} test clips")
    items = [json_download("health", "health report (JSON)", stem, report.to_dict())]
    items += table_downloads("health-figures", "figures beside their controls", stem, lambda: rows)
    download_area(Keys, items)


def recall_downloads(loaded, clip, view, top_table: Callable[[], object], shelf: Shelf) -> None:
    """The Recall page's: each recall's trace as `.npz` (query, cosine, weights, readout, grid,
    phase, gates), the top slots per cell and every figure."""
    from dashboard.keys import Recall as Keys

    stem = (model_name(loaded), clip.source)
    traces = [("phase2", "short input (phase 2)", view.short, view.gates)]
    if view.long is not None:
        traces.append(("phase1", "long window (phase 1)", view.long, view.long_gates))
    items = [
        Download(
            name=f"trace.{name}",
            label=f"trace, {label} (.npz)",
            file_name=ex.export_name(*stem, "recall", name, ext="npz"),
            mime="application/octet-stream",
            make=lambda trace=trace, gates=gates: ex.trace_npz(trace, gates),
        )
        for name, label, trace, gates in traces
    ]
    items += table_downloads("top-slots", "top slots per cell", stem, top_table)
    items += figure_downloads(shelf, stem, "Recall")
    download_area(Keys, items)


def _pass_stem(loaded, sample) -> tuple[str, ...]:
    return (model_name(loaded), f"{sample.num_clips} test clips")


def atlas_downloads(loaded, sample, slot_table: Callable[[], object], shelf: Shelf) -> None:
    """The Slot atlas page's: the dataset pass (one row per clip and cell, both recalls), the
    table of slots and every figure."""
    from dashboard.keys import Atlas as Keys

    stem = _pass_stem(loaded, sample)
    items = table_downloads(
        "pass", "dataset pass, clip x cell", stem, lambda: ex.pass_table(sample)
    )
    items += table_downloads("slots", "slots", stem, slot_table)
    items += figure_downloads(shelf, stem, "Slot atlas")
    download_area(Keys, items)


def embeddings_downloads(loaded, sample, shelf: Shelf) -> None:
    """The Embeddings page's: the map on screen (its points with their metadata and the slots),
    the dataset pass and the map as a figure. The map panel keeps `shelf.things["map"]`:
    (phase, space, index, projection)."""
    from dashboard.keys import Embeddings as Keys

    stem = _pass_stem(loaded, sample)
    phase, space, _, proj = shelf.things["map"]

    def table():
        phase, space, index, proj = shelf.things["map"]  # what is shown now
        return ex.embedding_table(
            sample, phase, index, proj.contexts, proj.slots, proj.method, space
        )

    items = table_downloads(
        "embedding", "map: points and slots", (*stem, proj.method, space, phase), table
    )
    items += table_downloads(
        "pass", "dataset pass, clip x cell", stem, lambda: ex.pass_table(sample)
    )
    items += figure_downloads(shelf, stem, "Embeddings")
    download_area(Keys, items)


def intervene_downloads(loaded, clip, shelf: Shelf) -> None:
    """The Intervene page's: both predictions and both recalls (`.npz`), the frame strip (PNG)
    and the figures. The panel keeps `shelf.things`: "result" (an Intervention), "what" (words)
    and "strip" (the strip's uint8 image)."""
    from dashboard.keys import Intervene as Keys

    stem = (model_name(loaded), clip.source)

    def arrays() -> bytes:
        result = shelf.things["result"]
        out = {"original": result.original, "intervened": result.intervened}
        out |= {"mae": result.mae, "mse": result.mse}
        for prefix, trace in (
            ("original", result.original_recall),
            ("intervened", result.intervened_recall),
        ):
            out |= {f"{prefix}_{k}": v for k, v in ex.trace_arrays_dict(trace).items()}
        out["what"] = np.asarray(shelf.things["what"])
        return ex.npz_bytes(out)

    items = [
        Download(
            name="intervention",
            label="predictions and recalls (.npz)",
            file_name=ex.export_name(*stem, "intervention", ext="npz"),
            mime="application/octet-stream",
            make=arrays,
        ),
        Download(
            name="strip",
            label="frames (PNG)",
            file_name=ex.export_name(*stem, "intervention", ext="png"),
            mime="image/png",
            make=lambda: ex.png_bytes(shelf.things["strip"]),
        ),
    ]
    items += figure_downloads(shelf, stem, "Intervene")
    download_area(Keys, items)
