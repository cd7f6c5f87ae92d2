"""Training LMC-Memory with memory alignment learning (Lee et al., CVPR 2021, sec. 3.4).

    step         one iteration: the two phases, their losses and optimizer steps
    config       TrainConfig: every setting of a run, its file and flag forms
    data         the training source and the validation clips of a run
    state        the training-state file (`last.pt`) a run resumes from
    metrics_log  the run's `metrics.jsonl`
    run          `run(config)`: a whole run, resumable, on one process or several (DDP)

The step's names are re-exported here; import the other modules by name.
"""

from lmc.training.step import (
    ALIGNMENT_MODES,
    WARMUP_OUT_LEN,
    ClipWindows,
    check_windows,
    prediction_loss,
    query_alignment_loss,
    train_step,
)

__all__ = [
    "ALIGNMENT_MODES",
    "WARMUP_OUT_LEN",
    "ClipWindows",
    "check_windows",
    "prediction_loss",
    "query_alignment_loss",
    "train_step",
]
