import os
import shutil

import pytest
import torch

from lmc import ModelConfig, build_model


@pytest.fixture(autouse=True)
def _deterministic():
    torch.manual_seed(0)
    yield


@pytest.fixture
def tiny_config() -> ModelConfig:
    return ModelConfig.preset("tiny")


@pytest.fixture
def tiny_model(tiny_config):
    return build_model(tiny_config)


def clip(b=2, t=10, c=1, size=32, seed=0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, t, c, size, size, generator=g)


@pytest.fixture
def files(monkeypatch) -> dict:
    """{file name: the function a download button calls}: the buttons are deferred, so the
    bytes are made when the file is asked for; this catches the functions as pages register them
    (the dashboard's download tests)."""
    from streamlit.runtime.media_file_manager import MediaFileManager

    caught = {}
    register = MediaFileManager.add_deferred

    def add_deferred(self, make, mimetype, coordinates, file_name=None, **kwargs):
        caught[file_name] = make
        return register(self, make, mimetype, coordinates, file_name=file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", add_deferred)
    return caught


@pytest.fixture(scope="session")
def chromium() -> str:
    """Debian's Chromium for the browser tests: skipped where it is missing, a failure under CI
    (where .ci/run installs it, so a missing browser means the set-up broke)."""

    def missing(reason: str):
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (CI is set, so the browser tests must run)")
        pytest.skip(reason)

    path = shutil.which("chromium")
    if path is None:
        missing("chromium is not installed: `make browser` or `apt-get install chromium`")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        missing("the playwright Python package is not installed (requirements-dev.txt)")
    return path
