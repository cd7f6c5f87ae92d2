"""The package: the wheel holds the library, the `lmc` command and the applications inside it (no
top-level `train` or `dashboard`), declares its pinned dependencies and extras, and its command
runs from the unpacked wheel, away from the repository."""

import email
import os
import shutil
import subprocess
import sys
import types
import zipfile
from pathlib import Path

import pytest

from lmc_cli import applications

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "setup.py", "requirements.txt", "README.md", "LICENSE")
PACKAGES = ("lmc", "lmc_cli", "train", "dashboard")


def _files(folder: Path) -> list[str]:
    """The files a package folder ships, relative to it (no bytecode)."""
    return sorted(
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    )


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel, built offline from a copy of the sources: a build writes build/ and
    lmc.egg-info/ beside them, never into the work tree."""
    tmp = tmp_path_factory.mktemp("wheel")
    src = tmp / "src"
    src.mkdir()
    for name in SOURCES:
        shutil.copy2(ROOT / name, src / name)
    for name in PACKAGES:
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    command = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation"]
    subprocess.run(
        [*command, "--no-index", "-w", str(tmp / "dist"), str(src)],
        check=True,
        capture_output=True,
        text=True,
    )
    (built,) = (tmp / "dist").glob("lmc-*.whl")
    return built


def _metadata(wheel: Path) -> tuple[list[str], email.message.Message, str]:
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        info = next(n.split("/")[0] for n in names if n.endswith(".dist-info/METADATA"))
        metadata = email.message_from_bytes(z.read(f"{info}/METADATA"))
        entry_points = z.read(f"{info}/entry_points.txt").decode()
    return names, metadata, entry_points


@pytest.mark.slow
def test_the_wheel_holds_the_library_and_the_command_with_the_applications_inside(wheel):
    names, _, entry_points = _metadata(wheel)
    tops = {name.split("/")[0] for name in names}
    assert tops == {"lmc", "lmc_cli", "lmc-0.1.0.dist-info"}  # no train/, dashboard/
    shipped = set(names)
    assert {f"lmc/{f}" for f in _files(ROOT / "lmc")} <= shipped  # every module, the MNIST data
    assert {
        "lmc/data/mnist/t10k-images-idx3-ubyte.gz",
        "lmc/data/mnist/t10k-labels-idx1-ubyte.gz",
    } <= shipped
    assert {f"lmc_cli/{f}" for f in _files(ROOT / "lmc_cli")} <= shipped
    for app in applications.APPS:
        assert {f"lmc_cli/apps/{app}/{f}" for f in _files(ROOT / app)} <= shipped
    assert "lmc_cli/apps/dashboard/views/health.py" in shipped
    assert "[console_scripts]\nlmc = lmc_cli:console" in entry_points


@pytest.mark.slow
def test_the_metadata_pins_the_dependencies_and_names_the_extras(wheel):
    _, metadata, _ = _metadata(wheel)
    requires = metadata.get_all("Requires-Dist")
    pinned = [
        line.strip()
        for line in (ROOT / "requirements.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert [r for r in requires if "extra ==" not in r] == pinned
    assert "torch==2.13.0" in pinned and all("==" in r for r in pinned)
    assert {"tensorboard", "cluster", "dev"} <= set(metadata.get_all("Provides-Extra"))
    assert 'tensorboard==2.21.0; extra == "tensorboard"' in requires
    dev = [r.split(";")[0] for r in requires if r.endswith('extra == "dev"')]
    assert {"lmc[tensorboard]", "lmc[cluster]", "pytest==9.2.0", "ruff==0.17.6"} <= set(dev)
    assert not any(r.startswith("tensorboard") for r in pinned)  # an extra, not for every user


@pytest.mark.slow
def test_the_command_runs_from_the_unpacked_wheel_away_from_the_repository(wheel, tmp_path):
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as z:
        z.extractall(site)
    probe = (
        "import lmc, lmc_cli, sys\n"
        "from lmc_cli import applications\n"
        "print(lmc.__file__)\n"
        "print(applications.root())\n"
        "applications.load('dashboard')\n"
        "import dashboard.launch\n"
        "print(dashboard.launch.APP)\n"
        "lmc_cli.main(['export', '--help'])\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site)}
    result = subprocess.run(
        [sys.executable, "-c", probe], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr[-2000:]
    lines = result.stdout.splitlines()
    assert lines[:3] == [
        str(site / "lmc" / "__init__.py"),
        str(site / "lmc_cli" / "apps"),
        str(site / "lmc_cli" / "apps" / "dashboard" / "app.py"),
    ]
    assert "--run_dir" in result.stdout  # train/export_model.py's help, from the wheel


def test_the_applications_are_found_in_a_checkout_and_in_a_wheel(tmp_path):
    assert applications.root() == ROOT
    installed = tmp_path / "site" / "lmc_cli"
    for app in applications.APPS:
        (installed / "apps" / app).mkdir(parents=True)
        (installed / "apps" / app / "__init__.py").touch()
    assert applications.root(installed) == installed / "apps"
    with pytest.raises(ImportError, match="neither in .*apps .*an installed wheel.* reinstall lmc"):
        applications.root(tmp_path / "elsewhere" / "lmc_cli")


def test_loading_an_application_imports_it_from_its_folder(monkeypatch):
    train = applications.load("train")
    assert sys.modules["train"] is train
    assert Path(train.__file__) == ROOT / "train" / "__init__.py"
    assert applications.load("train") is train  # once
    with pytest.raises(ValueError, match="unknown application 'tests': the applications are "):
        applications.load("tests")
    foreign = types.ModuleType("dashboard")
    foreign.__file__ = "/elsewhere/dashboard/__init__.py"
    monkeypatch.setitem(sys.modules, "dashboard", foreign)
    with pytest.raises(ImportError, match="a package named 'dashboard' from /elsewhere/dashboard"):
        applications.load("dashboard")


def test_a_started_process_finds_the_applications_first():
    env = applications.child_env({"PYTHONPATH": os.pathsep.join(["/a", str(ROOT)]), "X": "1"})
    assert env["PYTHONPATH"] == os.pathsep.join([str(ROOT), "/a"]) and env["X"] == "1"
    assert applications.child_env({})["PYTHONPATH"] == str(ROOT)
