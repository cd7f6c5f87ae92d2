"""lmc: LMC-Memory video prediction (Lee et al., CVPR 2021) with an open memory.

from lmc import ModelConfig, build_model, save_checkpoint, load_checkpoint, import_official
from lmc import LmcError  # ConfigError, CheckpointError, DataError, InputError: all ValueErrors
"""

from lmc.checkpoint import load_checkpoint, save_checkpoint
from lmc.config import ModelConfig
from lmc.errors import (
    CheckpointError,
    ConfigError,
    DataError,
    InputError,
    LmcError,
    TrainingStopped,
)
from lmc.model import LMCMemoryModel, Prediction, build_model, parameter_counts
from lmc.nn.memory import MemoryOverride, MemoryTrace
from lmc.official import import_official

# `import lmc` changes nothing outside lmc: the glibc malloc settings of lmc.allocator are applied
# by the entry points that want them (lmc.cli.run, the dashboard, the benchmarks' children).

__all__ = [
    "CheckpointError",
    "ConfigError",
    "DataError",
    "InputError",
    "LmcError",
    "TrainingStopped",
    "LMCMemoryModel",
    "MemoryOverride",
    "MemoryTrace",
    "ModelConfig",
    "Prediction",
    "build_model",
    "import_official",
    "load_checkpoint",
    "parameter_counts",
    "save_checkpoint",
]
