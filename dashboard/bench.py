"""`python -m dashboard.bench`: how fast the dashboard answers, in a real browser.

Starts `streamlit run dashboard/app.py` on a free local port with the demo-size model (the
bundled demo, or a `small`-preset checkpoint with random weights when the demo is absent: the
same architecture, so the same speed) and drives Debian's Chromium with Playwright:

- first page: from the server answering its health check to the Model page drawn with its
  sidebar (the first run imports torch, loads the model and the test set);
- rollout: from a click on "Rollout" to the page drawn, for clips the model has not seen yet
  (a real model call each time), and the model call alone in this process;
- fragment: moving the frame slider reruns only its fragment: the trace the pages write
  (LMC_DASHBOARD_TRACE) must show the fragment and nothing else, and the time it takes.

Targets (see the README): first page < 3 s, rollout < 0.5 s, fragment-only reruns. Without
Chromium the browser rows are skipped and the in-process rollout time is still measured.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from dashboard.settings import DEFAULT_DEMO, REPO

BUNDLED_DEMO = REPO / DEFAULT_DEMO
TARGETS = {"first_page_s": 3.0, "rollout_s": 0.5}
# The first image of the main area (the rollout grid) has been fetched and decoded.
GRID_DRAWN = """() => {
  const img = document.querySelector('[data-testid=stMain] [data-testid=stImage] img');
  return img !== null && img.complete && img.naturalWidth > 0;
}"""


def demo_checkpoint(path: str | None, workdir: Path) -> Path:
    """The checkpoint to serve: `path`, else the bundled demo, else a random `small` one."""
    if path:
        return Path(path)
    if BUNDLED_DEMO.is_file():
        return BUNDLED_DEMO
    import torch

    from lmc import build_model, save_checkpoint

    torch.manual_seed(0)
    return save_checkpoint(build_model("small"), workdir / "small-random.safetensors")


def model_rollout_seconds(checkpoint: Path, repeats: int) -> dict[str, float]:
    """The model call of a rollout (10 -> 10 on a test clip) in this process: first and median."""
    from lmc import load_checkpoint
    from lmc.analysis.inputs import Clip
    from lmc.analysis.rollout import run_rollout
    from lmc.data import generate_clips

    model, _ = load_checkpoint(checkpoint)
    size = model.config.image_size
    clips = generate_clips(repeats + 1, 20, seed=7, split="test", image_size=size)
    frames = clips.to_tensor().numpy()
    times = [run_rollout(model, Clip(f, 10, "bench")).seconds for f in frames]
    return {"model_first_s": times[0], "model_median_s": statistics.median(times[1:])}


def server_env(checkpoint: Path, workdir: Path) -> dict[str, str]:
    return dict(
        os.environ,
        LMC_DEMO_CHECKPOINT=str(checkpoint),
        LMC_CHECKPOINT_ROOTS=str(checkpoint.parent),
        LMC_DASHBOARD_TRACE=str(workdir / "trace.txt"),
    )


def trace_lines(workdir: Path) -> list[str]:
    path = workdir / "trace.txt"
    return path.read_text().splitlines() if path.is_file() else []


def wait_idle(page, timeout_ms: int = 30_000) -> None:
    page.wait_for_selector("[data-testid=stStatusWidget]", state="detached", timeout=timeout_ms)


def browser_timings(chromium: str, checkpoint: Path, repeats: int, workdir: Path) -> dict:
    from playwright.sync_api import sync_playwright

    from dashboard.server import CHROMIUM_ARGS, serving

    out: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(30_000)
        try:
            with serving(server_env(checkpoint, workdir), workdir / "streamlit.log") as url:
                start = time.perf_counter()
                page.goto(url)
                page.get_by_role("heading", name="Model", exact=True).wait_for()
                page.get_by_test_id("stSidebar").get_by_text("test clip 0").wait_for()
                out["first_page_s"] = time.perf_counter() - start
                wait_idle(page)
                nav = page.get_by_test_id("stSidebarNav")
                shown, complete = [], []
                for k in range(1, repeats + 1):
                    nav.get_by_text("Input", exact=True).click()
                    slider = page.get_by_test_id("stSlider").filter(has_text="Test clip")
                    slider.get_by_role("slider").focus()
                    slider.get_by_role("slider").press("ArrowRight")
                    page.get_by_test_id("stSidebar").get_by_text(f"test clip {k}").wait_for()
                    wait_idle(page)
                    start = time.perf_counter()
                    nav.get_by_text("Rollout", exact=True).click()
                    page.get_by_text(f"on test clip {k} (").wait_for()
                    # The rollout is shown when the grid of input, truth, prediction and error is.
                    page.wait_for_function(GRID_DRAWN)
                    shown.append(time.perf_counter() - start)
                    page.get_by_text("Per-frame scores").wait_for()
                    wait_idle(page)
                    complete.append(time.perf_counter() - start)
                rest = slice(1, None) if repeats > 1 else slice(None)
                out["rollout_first_s"] = shown[0]
                out["rollout_s"] = statistics.median(shown[rest])
                out["rollout_page_complete_s"] = statistics.median(complete[rest])
                before = len(trace_lines(workdir))
                frame = page.get_by_test_id("stSlider").filter(has_text="Predicted frame")
                frame.get_by_role("slider").focus()
                start = time.perf_counter()
                frame.get_by_role("slider").press("ArrowRight")
                while len(trace_lines(workdir)) == before:
                    time.sleep(0.01)
                wait_idle(page)
                out["fragment_rerun_s"] = time.perf_counter() - start
                new = [line.split(" ", 1)[1] for line in trace_lines(workdir)[before:]]
                out["fragment_events"] = new
                out["fragment_only"] = bool(new) and all(e.startswith("fragment ") for e in new)
        finally:
            browser.close()
    return out


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(
        prog="python -m dashboard.bench", description=__doc__.splitlines()[0]
    )
    p.add_argument("--checkpoint", help="default: the bundled demo, else a random small model")
    p.add_argument("--repeats", type=int, default=5, help="rollouts of new clips to time")
    p.add_argument("--out", default="runs/bench/dashboard.json")
    args = p.parse_args(argv)
    if args.repeats < 1:
        raise SystemExit(f"--repeats {args.repeats}: must be at least 1")
    workdir = Path(tempfile.mkdtemp(prefix="lmc-bench-dashboard-"))
    try:
        checkpoint = demo_checkpoint(args.checkpoint, workdir)
        result: dict = {"checkpoint": str(checkpoint), "load_average": os.getloadavg()[0]}
        result.update(model_rollout_seconds(checkpoint, args.repeats))
        chromium = shutil.which("chromium")
        if chromium is None:
            result["browser"] = "skipped: Debian's chromium is not installed (make browser)"
        else:
            result.update(browser_timings(chromium, checkpoint, args.repeats, workdir))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    rows = [
        ("first page (server up -> Model page drawn)", result.get("first_page_s"), "first_page_s"),
        ("rollout shown, first clip", result.get("rollout_first_s"), None),
        ("rollout shown, new clip (median)", result.get("rollout_s"), "rollout_s"),
        ("rollout page complete, new clip (median)", result.get("rollout_page_complete_s"), None),
        ("model call alone, median", result["model_median_s"], None),
        ("frame slider (fragment rerun)", result.get("fragment_rerun_s"), None),
    ]
    print(f"checkpoint: {result['checkpoint']}  (load average {result['load_average']:.2f})")
    for name, value, target in rows:
        shown = "skipped" if value is None else f"{value:7.3f} s"
        goal = f"  target < {TARGETS[target]} s" if target else ""
        print(f"  {name:45s} {shown}{goal}")
    if "fragment_only" in result:
        print(
            f"  slider move reran only its fragment: {result['fragment_only']} {result['fragment_events']}"
        )
    else:
        print(f"  browser: {result['browser']}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
