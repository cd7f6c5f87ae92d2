"""The notebooks run headless from top to bottom at their smallest budget, and are committed clean.

Each notebook runs with LMC_NOTEBOOK_SMOKE=1 (an untrained tiny model stands in for a missing demo
checkpoint; the ablation grid trains two iterations per run) in a kernel of this interpreter.
A probe cell appended to the in-memory copy prints what the notebook computed, as JSON.
"""

import json
import re
import sys
from pathlib import Path

import nbformat
import pytest

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
NAMES = [
    "01_quickstart",
    "02_ablations",
    "03_memory_analysis",
    "04_memory_health",
    "05_motion_contexts",
]

PROBE_HEAD = """import json, sys
import numpy as np
facts = {"executable": sys.executable}
"""
PROBES = {
    "01_quickstart": """
means = frames.groupby(["method", "metric"])["value"].mean()
facts["methods"] = sorted(frames["method"].unique())
facts["finite"] = bool(np.isfinite(means).all())
facts["strip_rows"] = int(strip.shape[0])
facts["weights_shape"] = list(weights.shape)
facts["weights_sum"] = weights.sum(axis=-1).tolist()
""",
    "02_ablations": """
metrics = ["mse", "mae", "psnr", "ssim", "copy_last_mse"]
facts["rows"] = len(result.table)
facts["variants"] = [v.name for v in variants]
facts["table_variants"] = result.table["variant"].tolist()
facts["seeds"] = list(SEEDS)
facts["finite"] = bool(np.isfinite(result.table[metrics].to_numpy(dtype=float)).all())
facts["summary_rows"] = len(summary)
facts["summary_n"] = summary["n"].tolist()
facts["curve_points"] = len(result.curves)
facts["same_on_cluster"] = bool(on_cluster.table.equals(result.table))
""",
    "03_memory_analysis": """
facts["usage_sum"] = float(usage["short"].top1_fraction.sum())
facts["alignment"] = summarise(al)
facts["chance"] = summarise(chance)
facts["points"] = int(occupied.sum())
facts["projection_finite"] = bool(np.isfinite(projection.contexts).all())
facts["points_mapped"] = len(projection.contexts)
facts["slots_placed"] = len(projection.slots)
facts["memory_size"] = passed.memory_size
""",
    "04_memory_health": """
facts["demo_verdicts"] = demo.verdicts
facts["live_verdicts"] = live.verdicts if live_path.is_file() else None
facts["rows"] = table["variant"].tolist()
facts["alive"] = table["slots_alive"].tolist()
facts["best_verdicts"] = report.verdicts
facts["health_curve_points"] = int((result.curves["source"] == "health").sum())
""",
}
PROBES["05_motion_contexts"] = """
facts["families_drawn"] = sorted(set(int(f) for f in sample.families.ravel()))
facts["paths_panels"] = len(plot_family_paths(sample).layout.annotations)
facts["controls"] = {k: float(v) for k, v in controls.items()}
facts["miss_families"] = misses["family"].tolist()
facts["rows"] = table["variant"].tolist()
facts["family_probe"] = [None if v != v else float(v) for v in table["family_probe_readout"]]
facts["twin_ratio"] = float(table.loc[table["variant"] == "no-memory", "mse_vs_twin"].iloc[0])
facts["best_verdicts"] = report.verdicts
facts["capacity"] = {k: taught[k] for k in ("cells", "chance", "probe_trained_query", "probe_truth")}
facts["capacity_own"] = taught["probe_checkpoint_query"]
facts["oracle_arms"] = oracle["arm"].tolist()
facts["oracle_steps"] = oracle["step"].tolist()
facts["oracle_ratios"] = oracle["other_ratio"].tolist()
facts["shipped"] = shipped.to_dict()
facts["slot_names"] = list(slot_names.values())
facts["named_cells"] = int(known.sum())
"""
PROBE_TAIL = "\nprint(json.dumps(facts))\n"


def load(name: str) -> nbformat.NotebookNode:
    return nbformat.read(NOTEBOOKS / f"{name}.ipynb", as_version=4)


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_is_clean_and_starts_with_its_question(name):
    nb = load(name)
    nbformat.validate(nb)
    assert nb.cells[0].cell_type == "markdown" and "**Question:**" in nb.cells[0].source
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{name}: a code cell has outputs; clear them"
            assert cell.execution_count is None, f"{name}: clear the execution counts"
    assert any("from lmc" in cell.source for cell in nb.cells), f"{name} must be a client of lmc"


def execute(name: str, tmp_path: Path) -> dict:
    """Run the notebook with the probe appended; return the probe's JSON."""
    from nbclient import NotebookClient

    nb = load(name)
    nb.cells.append(nbformat.v4.new_code_cell(PROBE_HEAD + PROBES[name] + PROBE_TAIL))
    client = NotebookClient(
        nb,
        kernel_name="python3",  # jupyter_client runs a "python" kernelspec with sys.executable
        timeout=300,
        resources={"metadata": {"path": str(NOTEBOOKS)}},
    )
    client.execute()
    outputs = [o for o in nb.cells[-1].outputs if o.output_type == "stream" and o.name == "stdout"]
    return json.loads(outputs[-1].text.strip().splitlines()[-1])


@pytest.fixture
def smoke_env(tmp_path, monkeypatch):
    monkeypatch.setenv("LMC_NOTEBOOK_SMOKE", "1")
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the smoke ablation runs go to a temp folder
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    monkeypatch.setenv("PYDEVD_DISABLE_FILE_VALIDATION", "1")


@pytest.mark.slow
def test_quickstart_runs_and_reports_model_and_baselines(smoke_env, tmp_path):
    facts = execute("01_quickstart", tmp_path)
    assert facts["executable"] == sys.executable  # the kernel is this environment's Python
    assert facts["methods"] == ["copy_last", "model", "zeros"]
    assert facts["finite"]
    assert facts["strip_rows"] > 0
    cells, slots = facts["weights_shape"]
    assert cells >= 1 and slots >= 1
    assert facts["weights_sum"] == pytest.approx([1.0] * cells, abs=1e-5)


@pytest.mark.slow
def test_ablations_give_one_row_per_variant_and_seed_with_finite_metrics(smoke_env, tmp_path):
    facts = execute("02_ablations", tmp_path)
    assert facts["executable"] == sys.executable
    seeds = len(facts["seeds"])
    assert facts["rows"] == len(facts["variants"]) * seeds
    assert facts["table_variants"] == [v for v in facts["variants"] for _ in range(seeds)]
    assert facts["finite"]
    assert facts["summary_rows"] == len(facts["variants"])
    assert facts["summary_n"] == [seeds] * len(facts["variants"])
    assert facts["curve_points"] > 0
    assert facts["same_on_cluster"]  # the finished rows, read back by the cluster's cell
    assert list(tmp_path.glob("lmc-ablations-*/smoke/full/seed0/best.safetensors"))


@pytest.mark.slow
def test_memory_analysis_runs_usage_alignment_and_umap(smoke_env, tmp_path):
    facts = execute("03_memory_analysis", tmp_path)
    assert facts["executable"] == sys.executable
    assert facts["usage_sum"] == pytest.approx(1.0)
    for summary in (facts["alignment"], facts["chance"]):
        assert 0.0 <= summary["top1_agreement"] <= 1.0
        assert summary["kl_mean"] >= 0.0
    assert facts["points"] >= 4 and facts["points_mapped"] == facts["points"]
    assert facts["projection_finite"]
    assert facts["slots_placed"] == facts["memory_size"]


@pytest.mark.slow
def test_memory_health_runs_the_study_with_health_in_every_row(smoke_env, tmp_path):
    facts = execute("04_memory_health", tmp_path)
    assert len(facts["demo_verdicts"]) in (6, 7)  # 7 once the stored report has the reader figures
    if facts["live_verdicts"] is not None:  # the live demo, where it ships, read on the same clips
        assert any("another clip's recall" in v for v in facts["live_verdicts"])
        assert facts["live_verdicts"] != facts["demo_verdicts"]
    assert facts["rows"] == [
        "full",
        "temp0.1",
        "replicate",
        "align1",
        "align0.1",
        "align1-temp0.1",
        "live-temp0.1",
        "live-temp0.3",
        "input-window",
        "standardized",
        "standardized-malign",
        "predictor1",
    ]
    assert all(1 <= alive <= 100 for alive in facts["alive"])
    assert len(facts["best_verdicts"]) == 7
    assert facts["health_curve_points"] == 12 * 2 * 5  # variants x validations x measures


@pytest.mark.slow
def test_motion_contexts_runs_the_controls_and_the_study_with_family_figures(smoke_env, tmp_path):
    facts = execute("05_motion_contexts", tmp_path)
    assert facts["executable"] == sys.executable
    assert facts["families_drawn"] == [0, 1, 2, 3, 4, 5] and facts["paths_panels"] == 6
    controls = facts["controls"]
    assert controls["chance (6 families)"] == pytest.approx(1 / 6)
    # the smoke run's 300 clips: the whole input still tells the family far better than its end
    assert controls["family from 9 input displacements"] > controls["family from the last 2"] + 0.2
    assert facts["miss_families"] == [
        "bounce",
        "orbit-cw",
        "orbit-ccw",
        "zigzag",
        "oscillate",
        "stop-go",
    ]
    assert facts["rows"] == ["full", "standardized", "no-memory"]
    probes = facts["family_probe"]
    assert probes[2] is None and all(0.0 <= p <= 1.0 for p in probes[:2])  # no memory: no probe
    assert facts["twin_ratio"] == pytest.approx(1.0)
    assert len(facts["best_verdicts"]) == 8
    assert any("motion context" in v for v in facts["best_verdicts"])
    capacity = facts["capacity"]
    assert capacity["cells"] > 0 and 0 < capacity["chance"] < 1
    assert 0 <= capacity["probe_trained_query"] <= 1 and 0 <= facts["capacity_own"] <= 1
    # Each arm evaluated where it starts and after its one smoke step, on the same test clips.
    assert facts["oracle_arms"] == [
        arm for arm in ("oracle", "shuffled control", "oracle, recurrent") for _ in range(2)
    ]
    assert facts["oracle_steps"] == [0, 1] * 3
    ratios = facts["oracle_ratios"]
    assert all(r > 0 for r in ratios)
    assert ratios[2] == ratios[0] and ratios[4] == pytest.approx(ratios[0], rel=1e-6)
    # The shipped memories, from their bundled reports: the named one's slots follow the family
    # more than the cell, the contexts one's the other way round.
    named, plain = facts["shipped"]["named"], facts["shipped"]["contexts"]
    assert named["NMI top slot ~ family"] > named["NMI top slot ~ cell (< NMI family)"]
    assert plain["NMI top slot ~ family"] < plain["NMI top slot ~ cell (< NMI family)"]
    assert named["slots alive (>= 25)"] >= 25 and plain["slots alive (>= 25)"] >= 25
    assert facts["named_cells"] > 0
    assert all(re.fullmatch(r"[a-z-]+, \d+ % of its cells", n) for n in facts["slot_names"])
