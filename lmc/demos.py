"""The demo models that ship in the repository's `models/` folder, named once for everyone.

Paths are relative to the repository root (`REPO_ROOT`), where the README's commands run.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# name -> checkpoint; "paper" is the published configuration trained on a 2-core CPU.
DEMOS = {
    "paper": Path("models") / "demo" / "lmc-small-mnist.safetensors",
}
DEFAULT_DEMO = "paper"
DEMO_CHECKPOINT = DEMOS[DEFAULT_DEMO]


def demo_path(name: str = DEFAULT_DEMO) -> Path:
    """The absolute path of a bundled demo checkpoint."""
    if name not in DEMOS:
        raise ValueError(f"unknown demo {name!r}; the demos are {', '.join(DEMOS)}")
    return REPO_ROOT / DEMOS[name]
