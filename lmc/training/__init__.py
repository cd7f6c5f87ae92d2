"""Training LMC-Memory with memory alignment learning (Lee et al., CVPR 2021, sec. 3.4).

    step         one iteration: the two phases, their losses and optimizer steps
    memory_terms this project's extra terms that keep the memory alive (alignment, balance)
    config       TrainConfig: every setting of a run, its file and flag forms
    data         the training source and the validation clips of a run
    state        the training-state file (`last.pt`) a run resumes from
    resume       what a resumed run checks (state, settings) before it writes anything
    metrics_log  the run's `metrics.jsonl`
    run          `run(config)`: a whole run, resumable, on one process or several (DDP)

The step's names are re-exported here; import the other modules by name.
"""

from lmc.training.memory_terms import (
    MemoryTerms,
    addressing_alignment_loss,
    clip_readout_alignment_loss,
    query_alignment_loss,
    readout_alignment_loss,
    usage_balance_loss,
)
from lmc.training.step import (
    ALIGNMENT_MODES,
    WARMUP_OUT_LEN,
    ClipWindows,
    check_windows,
    prediction_loss,
    train_step,
)

__all__ = [
    "ALIGNMENT_MODES",
    "WARMUP_OUT_LEN",
    "ClipWindows",
    "MemoryTerms",
    "addressing_alignment_loss",
    "check_windows",
    "prediction_loss",
    "query_alignment_loss",
    "readout_alignment_loss",
    "clip_readout_alignment_loss",
    "train_step",
    "usage_balance_loss",
]
