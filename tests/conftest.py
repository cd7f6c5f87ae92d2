import os
import shutil
from pathlib import Path

import pytest
import torch
from browser_helpers import TIME_SCALE, open_page, open_tab
from hypothesis import settings
from hypothesis.database import DirectoryBasedExampleDatabase

from lmc import ModelConfig, build_model, save_checkpoint

REPO = Path(__file__).resolve().parents[1]
# The browser tests' server: its start and each page's first run, each within WARM_MS, all
# within WARM_S, which the first browser test's timeout adds to BROWSER_TIMEOUT_S.
WARM_MS = 180_000 * TIME_SCALE
WARM_S = 600 * TIME_SCALE
BROWSER_TIMEOUT_S = 90 * TIME_SCALE  # a browser test's own time: each of its waits is WAIT_MS

# Hypothesis: CI draws the same examples on every run and keeps no database; a developer's run
# draws new ones each time and replays a failure it found (its database sits in the ignored
# cache). HYPOTHESIS_PROFILE names a profile outright.
settings.register_profile("ci", derandomize=True, database=None, deadline=None, print_blob=True)
settings.register_profile(
    "dev",
    deadline=None,
    database=DirectoryBasedExampleDatabase(str(REPO / ".lmc-cache" / "hypothesis")),
)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)


def pytest_collection_modifyitems(items):
    """The browser tests last: they share one server and one Chromium (the session fixtures
    below), which then live only while they run, and the quick tests report first. Each has
    BROWSER_TIMEOUT_S; the first also starts the server (WARM_S)."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
    browser = [item for item in items if item.get_closest_marker("browser")]
    for i, item in enumerate(browser):
        if item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(BROWSER_TIMEOUT_S + (WARM_S if i == 0 else 0)))


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


@pytest.fixture(scope="session")
def browser(chromium):
    """One Chromium for every browser test; each module opens its own tab (`open_tab`)."""
    from playwright.sync_api import sync_playwright

    from dashboard.server import CHROMIUM_ARGS

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="session")
def served(tmp_path_factory, browser) -> dict:
    """One `streamlit run dashboard/app.py` for every browser test: it opens a tiny random 64x64
    model (or $LMC_SCREENSHOT_CHECKPOINT) with the live demo's health report beside it, and its
    file pickers read the dashboard fixture (dashboard_helpers.write_fixture). Its first page
    is loaded once here, so that no test pays for the server's first model and test set."""
    from dashboard_helpers import write_fixture

    from dashboard.server import serving
    from dashboard.views import PAGES
    from lmc.analysis.health_check import health_path
    from lmc.demos import demo_path

    root = tmp_path_factory.mktemp("served")
    models = write_fixture(root)
    checkpoint = os.environ.get("LMC_SCREENSHOT_CHECKPOINT")
    if checkpoint:
        checkpoint = Path(checkpoint).resolve()
    else:
        torch.manual_seed(0)
        config = ModelConfig.preset("tiny", image_size=64, output_activation="sigmoid")
        checkpoint = save_checkpoint(build_model(config), root / "tiny" / "tiny.safetensors")
        live = demo_path("live")
        health_path(checkpoint).write_text(health_path(live).read_text())
    roots = [models, checkpoint.parent]
    if os.environ.get("LMC_SCREENSHOT_CHECKPOINT"):
        # The documented pictures compare trained models: both bundled demos can be picked.
        roots += [demo_path(name).parent for name in ("live", "paper")]
    env = dict(
        os.environ,
        LMC_DEMO_CHECKPOINT=str(checkpoint),
        LMC_CHECKPOINT_ROOTS=os.pathsep.join(map(str, dict.fromkeys(roots))),
        LMC_CACHE_DIR=str(root / "cache"),
        LMC_DASHBOARD_TRACE=str(root / "trace.txt"),
        NUMBA_CACHE_DIR=os.environ.get("NUMBA_CACHE_DIR", str(REPO / ".lmc-cache" / "numba")),
    )
    with serving(env, root / "streamlit.log", timeout=WARM_MS / 1000) as url:
        # Each page's first run on the server imports its modules, loads the model and makes
        # the test set (seconds on an idle machine, minutes on a loaded one): done once here,
        # so that each test's own waits can stay at WAIT_MS.
        page = open_tab(browser, url, first_wait_ms=WARM_MS)
        for spec in PAGES[1:]:
            open_page(page, spec.title, WARM_MS)
        page.context.close()
        yield {
            "url": url,
            "checkpoint": Path(checkpoint),
            "models": models,
            "trace": root / "trace.txt",
            "cache": root / "cache" / "analysis",
        }


@pytest.fixture(scope="module")
def page(browser, served):
    """A tab of the served dashboard for each browser test module (its own Streamlit session);
    a module that needs another window size defines its own."""
    tab = open_tab(browser, served["url"])
    yield tab
    tab.context.close()
