"""The project's errors: one hierarchy, exported from `lmc`, each a ValueError."""

import pytest

import lmc
from lmc import errors


def test_errors_are_exported_from_lmc_as_one_hierarchy():
    for name in ("ConfigError", "CheckpointError", "DataError", "InputError"):
        cls = getattr(lmc, name)
        assert cls is getattr(errors, name) and issubclass(cls, lmc.LmcError)
        assert name in lmc.__all__
    assert issubclass(lmc.LmcError, ValueError)
    assert not issubclass(lmc.TrainingStopped, ValueError)  # the input was fine


def test_a_loader_raises_the_exported_error(tmp_path):
    with pytest.raises(lmc.CheckpointError, match="checkpoint not found: .*missing.safetensors"):
        lmc.load_checkpoint(tmp_path / "missing.safetensors")
    with pytest.raises(lmc.ConfigError, match="memory_size=2.5: must be an integer"):
        lmc.ModelConfig.from_dict({"memory_size": 2.5})


def test_the_served_dashboard_shows_no_traceback():
    from dashboard.launch import OPTIONS  # on every server's command line (test_dashboard_launch)

    assert OPTIONS["client.showErrorDetails"] == "none"
