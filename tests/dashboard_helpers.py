"""What the dashboard tests share: the folders of checkpoints and files their fixtures write
(each test module declares its own fixture over these), starting the app in Streamlit's AppTest,
opening it by a link, moving between pages, and reading the sidebar and the page's messages."""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import streamlit as st
import torch
from streamlit.testing.v1 import AppTest

from dashboard import APP
from dashboard.views import PageSpec
from lmc import ModelConfig, build_model, save_checkpoint

TIMEOUT = 60  # seconds per run: generous, the machine may be shared


def write_fixture(root: Path) -> Path:
    """Two tiny 64x64 checkpoints (memory on and off, the second in a run folder with its
    training log), a corrupt one, a dataset file and another method's results."""
    models = root / "models"
    (models / "no-memory").mkdir(parents=True)
    torch.manual_seed(0)
    save_checkpoint(
        build_model(ModelConfig.preset("tiny", image_size=64)),
        models / "demo.safetensors",
        step=3,
        model_card="# Tiny test model\n\nRandom weights, for tests.",
    )
    save_checkpoint(
        build_model(ModelConfig.preset("tiny", image_size=64, memory=False)),
        models / "no-memory" / "best.safetensors",
        step=20,
    )
    records = [
        {
            "iteration": 10 * i,
            "phase1": 1.0 / i,
            "phase2": 1.1 / i,
            "lr": 1e-3,
            "clips_per_s": 4.0,
            "val": {"mse": 90.0 / i, "mae": 150.0 / i, "psnr": 14.0 + i, "ssim": 0.2 * i},
            "val_baselines": {
                "copy_last": {"mse": 120.0, "ssim": 0.5},
                "zeros": {"mse": 200.0, "ssim": 0.0},
            },
        }
        for i in range(1, 4)
    ]
    (models / "no-memory" / "metrics.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in records)
    )
    (models / "corrupt.safetensors").write_bytes(b"\x00not a checkpoint" * 64)
    rng = np.random.default_rng(0)
    (models / "data").mkdir()
    np.save(
        models / "data" / "standard.npy", rng.integers(0, 255, (20, 24, 64, 64), dtype=np.uint8)
    )
    results = models / "results"
    results.mkdir()
    for name, t in (("inputs", 10), ("trues", 10), ("preds", 10)):
        np.save(results / f"{name}.npy", rng.random((2, t, 1, 64, 64), dtype=np.float32))
    return models


# The Compare memories tests' two memory checkpoints, and the health reports kept beside them:
# another clip's recall changes nothing on the left and 27 % on the right.
COMPARE_NAMES = ("collapsed.safetensors", "live.safetensors")
COMPARE_REPORTS = {
    "collapsed": {"clips": 256, "mse_own": 100.0, "mse_other_recall": 100.0},
    "live": {"clips": 256, "mse_own": 130.0, "mse_other_recall": 165.1},
}


def write_compare_checkpoints(root: Path) -> Path:
    """Under `root`: two tiny 64x64 memories (one collapsed by hand onto a single slot, one at its
    random start) with their health reports, a model without memory, one of another frame size
    and a corrupt file."""
    tiny = ModelConfig.preset("tiny", image_size=64)
    torch.manual_seed(0)
    collapsed = build_model(tiny)
    # Every slot the same vector: every query weighs them alike, and slot 0 wins every argmax.
    collapsed.memory.slots.data[:] = collapsed.memory.slots.data[0]
    save_checkpoint(collapsed, root / "collapsed.safetensors")
    torch.manual_seed(1)
    save_checkpoint(build_model(tiny), root / "live.safetensors")
    for name, report in COMPARE_REPORTS.items():
        (root / f"{name}.health.json").write_text(json.dumps(report))
    save_checkpoint(
        build_model(ModelConfig.preset("tiny", image_size=64, memory=False)),
        root / "plain.safetensors",
    )
    save_checkpoint(
        build_model(ModelConfig.preset("tiny", image_size=32)), root / "small.safetensors"
    )
    (root / "corrupt.safetensors").write_bytes(b"\x00not a checkpoint" * 64)
    return root


def write_search_checkpoint(root: Path) -> Path:
    """A tiny 64x64 memory model under `root` (with a model without memory beside it); its path."""
    torch.manual_seed(0)
    save_checkpoint(
        build_model(ModelConfig.preset("tiny", image_size=64)), root / "tiny.safetensors"
    )
    plain = ModelConfig.preset("tiny", image_size=64, memory=False)
    save_checkpoint(build_model(plain), root / "plain.safetensors")
    return root / "tiny.safetensors"


def write_link_models(root: Path) -> Path:
    """The dashboard fixture under `root`, a second memory model of 12 slots under the roots, and
    a checkpoint and a dataset file outside them (one reached by a link planted inside); the
    roots' folder."""
    models = write_fixture(root)
    torch.manual_seed(1)
    (models / "other").mkdir()
    save_checkpoint(
        build_model(ModelConfig.preset("tiny", image_size=64, memory_size=12)),
        models / "other" / "wide.safetensors",
    )
    outside = root / "outside"
    outside.mkdir()
    save_checkpoint(
        build_model(ModelConfig.preset("tiny", image_size=64)), outside / "x.safetensors"
    )
    np.save(outside / "clips.npy", np.zeros((2, 20, 64, 64), np.uint8))
    (models / "planted.safetensors").symlink_to(outside / "x.safetensors")
    return models


def open_link(monkeypatch, tmp_path, models, page, params) -> AppTest:
    """A new session opening `page` by a link with these query parameters."""
    monkeypatch.setenv("LMC_DEMO_CHECKPOINT", str(models / "demo.safetensors"))
    monkeypatch.setenv("LMC_CHECKPOINT_ROOTS", str(models))
    monkeypatch.setenv("LMC_TEST_CLIPS", "4")
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("LMC_DASHBOARD_TRACE", raising=False)
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(APP), default_timeout=TIMEOUT)
    at.query_params.update(params)
    at.switch_page(page.file).run()
    assert_no_exception(at)
    return at


def ignored(at: AppTest) -> str:
    """The page's note on the link's ignored values ('' when there is none)."""
    return " | ".join(w.value for w in at.warning if "values of this link were ignored" in w.value)


def npy_bytes(array: np.ndarray) -> bytes:
    out = io.BytesIO()
    np.save(out, array)
    return out.getvalue()


def start_app(
    monkeypatch,
    tmp_path: Path,
    demo: Path,
    *,
    roots: Path | None = None,
    test_clips: int = 4,
    page: PageSpec | None = None,
    timeout: float = TIMEOUT,
) -> AppTest:
    """The dashboard in AppTest, opening `demo` (which need not exist), reading checkpoints under
    `roots` (default: the demo's folder), with fresh caches and a trace in tmp_path/trace.txt;
    after its first run, on `page` when given."""
    monkeypatch.setenv("LMC_DEMO_CHECKPOINT", str(demo))
    monkeypatch.setenv("LMC_CHECKPOINT_ROOTS", str(roots or Path(demo).parent))
    monkeypatch.setenv("LMC_TEST_CLIPS", str(test_clips))
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("LMC_DASHBOARD_TRACE", str(tmp_path / "trace.txt"))
    # Streamlit's caches live in the process: start each app from empty ones.
    st.cache_data.clear()
    st.cache_resource.clear()
    at = AppTest.from_file(str(APP), default_timeout=timeout).run()
    assert_no_exception(at)
    return at if page is None else go(at, page)


def go(at: AppTest, page: PageSpec) -> AppTest:
    at.switch_page(page.file).run()
    assert_no_exception(at)
    return at


def assert_no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def assert_clean(at: AppTest) -> None:
    """No exception and no error box."""
    assert_no_exception(at)
    assert not at.error, [e.value for e in at.error]


def errors(at: AppTest) -> str:
    return " | ".join(e.value for e in at.error)


def sidebar_text(at: AppTest) -> str:
    return " ".join(m.value for m in at.sidebar.markdown)


def _sidebar_entry(at: AppTest, icon: str) -> str | None:
    prefix = f":material/{icon}: "
    found = [m.value for m in at.sidebar.markdown if m.value.startswith(prefix)]
    return found[0].removeprefix(prefix) if found else None


def model_label(at: AppTest) -> str | None:
    """The model the sidebar names, None when it names none."""
    return _sidebar_entry(at, "memory")


def input_source(at: AppTest) -> str | None:
    """The input clip the sidebar names, None when it names none."""
    return _sidebar_entry(at, "movie")


def texts(at: AppTest) -> str:
    return " ".join(m.value for m in [*at.markdown, *at.caption, *at.subheader])


def figures_in(archive: bytes) -> dict[str, str]:
    """{title: HTML page} of a page's figures download (a ZIP: one page per figure, all of them
    on index.html, plotly.js once beside them); checks each page loads that copy and no other."""
    import html as markup
    import re
    import zipfile

    from lmc.analysis.exports import PLOTLY_JS

    pages = {}
    with zipfile.ZipFile(io.BytesIO(archive)) as z:
        assert z.read(PLOTLY_JS).startswith(b"/**")  # plotly.js's licence banner
        for name in z.namelist():
            if name.endswith(".html"):
                page = z.read(name).decode()
                assert re.findall(r'<script[^>]+src="([^"]+)"', page) == [PLOTLY_JS], name
                title = markup.unescape(re.search(r"<title>(.*?)</title>", page).group(1))
                pages["index.html" if name == "index.html" else title] = page
    return pages
