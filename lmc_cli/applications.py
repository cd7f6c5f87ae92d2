"""Where the applications live, and how the `lmc` command imports them.

In the repository the applications are the top-level folders train/ (the authors' command lines:
`python -m train.train` from the root) and dashboard/ (the Streamlit app). An installed wheel
keeps them as files of this command, lmc_cli/apps/train and lmc_cli/apps/dashboard (setup.py),
and installs no top-level `train` or `dashboard` package that could collide with another
project's. The command loads each by its folder, under its own name, into its own process
(`load`), and the processes it starts (the Streamlit server) find them through PYTHONPATH
(`child_env`). Nothing here edits sys.path.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from pathlib import Path
from types import ModuleType

APPS = ("train", "dashboard")
HERE = Path(__file__).resolve().parent


def root(here: Path = HERE) -> Path:
    """The folder that holds train/ and dashboard/: lmc_cli/apps in an installed wheel, the
    repository root in a checkout (an editable install included)."""
    for candidate in (here / "apps", here.parent):
        if all((candidate / app / "__init__.py").is_file() for app in APPS):
            return candidate
    raise ImportError(
        f"lmc's applications (train/, dashboard/) are neither in {here / 'apps'} (an installed "
        f"wheel) nor in {here.parent} (a checkout): reinstall lmc"
    )


def load(name: str) -> ModuleType:
    """The application package `name` ("train" or "dashboard") from `root()`, imported once;
    its modules then import as usual (`import train.train`)."""
    if name not in APPS:
        raise ValueError(f"unknown application {name!r}: the applications are {', '.join(APPS)}")
    folder = root() / name
    loaded = sys.modules.get(name)
    if loaded is not None:
        where = Path(getattr(loaded, "__file__", None) or "").resolve().parent
        if where != folder.resolve():
            raise ImportError(
                f"a package named {name!r} from {where} is already imported; lmc's is {folder}"
            )
        return loaded
    spec = importlib.util.spec_from_file_location(
        name, folder / "__init__.py", submodule_search_locations=[str(folder)]
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module


def child_env(env: dict[str, str]) -> dict[str, str]:
    """`env` with the applications' folder first on PYTHONPATH, for a process this command
    starts (Streamlit runs dashboard/app.py, whose pages import `dashboard`)."""
    paths = [str(root()), *filter(None, env.get("PYTHONPATH", "").split(os.pathsep))]
    return {**env, "PYTHONPATH": os.pathsep.join(dict.fromkeys(paths))}
