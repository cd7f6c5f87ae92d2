"""Ablations from a notebook: the paper's design choices, measured with the same data, seed and
budget, as tidy tables (Lee et al., CVPR 2021, arXiv 2104.00924).

    from lmc.experiments import Budget, ablation_grid, run_grid, summarize
    budget = Budget.tiny()
    result = run_grid(ablation_grid(budget), budget, seeds=(0, 1))
    summarize(result.table)  # mean and std over seeds per variant
"""

from lmc.experiments.demo import DEMO_CHECKPOINT, load_demo_model
from lmc.experiments.grid import (
    CURVE_COLUMNS,
    TABLE_COLUMNS,
    ExperimentResult,
    load_grid,
    read_run,
    run_grid,
    train_seconds,
)
from lmc.experiments.health import HEALTH_COLUMNS, run_health, with_health
from lmc.experiments.plots import plot_curves, plot_family_paths, plot_motion_map, plot_summary
from lmc.experiments.tables import evaluation_frame, summarize
from lmc.experiments.variants import (
    AXES,
    AXIS_VALUES,
    REFERENCE,
    Budget,
    Variant,
    ablation_grid,
    contexts_study_variants,
    memory_study_variants,
    standard_variants,
)

__all__ = [
    "AXES",
    "AXIS_VALUES",
    "CURVE_COLUMNS",
    "DEMO_CHECKPOINT",
    "HEALTH_COLUMNS",
    "REFERENCE",
    "TABLE_COLUMNS",
    "Budget",
    "ExperimentResult",
    "Variant",
    "ablation_grid",
    "contexts_study_variants",
    "evaluation_frame",
    "load_demo_model",
    "load_grid",
    "memory_study_variants",
    "plot_curves",
    "plot_family_paths",
    "plot_motion_map",
    "plot_summary",
    "read_run",
    "run_grid",
    "run_health",
    "standard_variants",
    "summarize",
    "train_seconds",
    "with_health",
]
