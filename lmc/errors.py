"""The project's own errors, at the bottom of the library so that every layer can raise them.

Each is also a ValueError, so code that catches ValueError (the command lines, the dashboard
pages) keeps working; the message names the value and the limit, and the way out.
"""


class LmcError(ValueError):
    """Base of every error lmc raises for bad input."""


class ConfigError(LmcError):
    """A configuration (model or training) with a bad key, type or value."""


class CheckpointError(LmcError):
    """A checkpoint or training state that cannot be loaded."""


class DataError(LmcError):
    """A dataset, frame folder or cache that cannot be read."""


class InputError(LmcError):
    """A clip or upload that does not fit the model."""


class TrainingStopped(RuntimeError):
    """A training run that cannot go on (a non-finite loss); its last good checkpoint is kept.
    Not a ValueError: the input was fine, the optimisation went wrong."""
