"""The demo models that ship in the repository's `models/` folder, named once for everyone.

Four demos of the `small` preset, trained on a 2-core CPU on generated data:
- "paper": the published recipe; its memory collapsed (docs/memory-health.md says how);
- "live": this project's recipe whose memory the prediction reads: a standardized addressing
  that keeps most slots in use, a slot-usage balance term, the short input's addressing aligned
  to the long window's, and a predictor that sees only the last input frame, so the motion must
  come through the recall (its card says which criteria of a live memory it meets and which not);
- "contexts": the live demo trained on with Moving-MNIST of motion contexts
  (`lmc.data.motion_contexts`), the study of docs/memory-health.md, with its no-memory twin
  beside it in the same folder (its card says which criteria of issue 24 it meets);
- "named": the positive control of that study, beside it: a memory whose query was taught the
  motion family with labels (which the paper's recipe never does) and then frozen, so its slots
  are named by the family ("slot 54: orbit-ccw, 84 % of its cells"), with a no-memory twin of its
  three-frame predictor.
The dashboard opens the first demo of DEMOS that is on disk, so the live one where it exists.

Paths are relative to the repository root (`REPO_ROOT`), where the README's commands run.
"""

from __future__ import annotations

from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
# name -> checkpoint, in the order of preference for the model opened at start.
DEMOS = {
    "live": Path("models") / "demo-live" / "lmc-small-mnist-live.safetensors",
    "paper": Path("models") / "demo" / "lmc-small-mnist.safetensors",
    "contexts": Path("models") / "demo-contexts" / "lmc-small-contexts.safetensors",
    "named": Path("models") / "demo-contexts" / "lmc-small-contexts-named.safetensors",
}
DEMO_TITLES = {
    "live": "live memory (this project's recipe)",
    "paper": "published recipe (collapsed memory)",
    "contexts": "motion contexts (the live recipe on six motion families)",
    "named": "motion contexts, slots named by family (a query taught the family: positive control)",
}
PAPER_DEMO = "paper"
# How the sidebar and the pages name a demo in one breath.
DEMO_SHORT_NAMES = {
    "live": "live memory",
    "paper": "published recipe",
    "contexts": "motion contexts",
    "named": "slots named by family",
}


def demo_path(name: str) -> Path:
    """The absolute path of a bundled demo checkpoint."""
    if name not in DEMOS:
        raise ValueError(f"unknown demo {name!r}; the demos are {', '.join(DEMOS)}")
    return REPO_ROOT / DEMOS[name]


def demo_label(path: str | Path) -> str:
    """The label of a bundled demo's checkpoint, e.g. "bundled demo, live memory
    (lmc-small-mnist-live.safetensors)"; a path that is none of the demos keeps its file name."""
    path = Path(path)
    for name in DEMOS:
        if demo_path(name).resolve() == path.resolve():
            return f"bundled demo, {DEMO_SHORT_NAMES[name]} ({path.name})"
    return f"bundled demo ({path.name})"


def available_demos() -> list[str]:
    """The names of the demos whose checkpoint is on disk, in DEMOS order."""
    return [name for name in DEMOS if demo_path(name).is_file()]


def default_demo() -> str:
    """The demo opened at start: the first one on disk (the paper demo if none is)."""
    found = available_demos()
    return found[0] if found else PAPER_DEMO


# The default demo's repository-relative path, as the notebooks and the dashboard use it.
DEMO_CHECKPOINT = DEMOS[default_demo()]
