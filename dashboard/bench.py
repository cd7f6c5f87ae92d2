"""`python -m dashboard.bench`: how fast the dashboard answers, in a real browser.

Starts `streamlit run dashboard/app.py` on a free local port with the demo-size model (the
bundled demo, or a `small`-preset checkpoint with random weights when the demo is absent: the
same architecture, so the same speed) and drives Debian's Chromium with Playwright:

- first page: from the server answering its health check to the Model page drawn with its
  sidebar (the first run imports torch, loads the model and the test set);
- rollout: from a click on "Rollout" to the page drawn, for clips the model has not seen yet
  (a real model call each time), and the model call alone in this process;
- fragment: moving the frame slider reruns only its fragment: the trace the pages write
  (LMC_DASHBOARD_TRACE) must show the fragment and nothing else, and the time it takes;
- clicks (`--clicks`, on by default), each from the click to the end of the run it starts
  (dashboard/bench_browser.py), medians over `--repeats`: a page change between pages seen
  before, a cell clicked on the Recall grid, "Open on Recall" on a Search card, an Intervene
  run (the next slot), and a second checkpoint added on Rollout (the other bundled demo).

Targets: first page < 3 s, rollout < 0.5 s, fragment-only reruns; page change, Recall cell
click, Open on Recall and an Intervene run <= 1 s, a second checkpoint on Rollout <= 3 s, each on
an idle machine. Without Chromium the browser rows are skipped and the in-process rollout time is
still measured.
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
TARGETS = {
    "first_page_s": 3.0,
    "rollout_s": 0.5,
    "page_change_s": 1.0,
    "recall_cell_click_s": 1.0,
    "open_on_recall_s": 1.0,
    "intervene_run_s": 1.0,
    "rollout_second_s": 3.0,
}
SEARCH_CLIPS = 100  # the pass behind the Search page's cards (its slider's first step)
WAIT_MS = 600_000  # a loaded machine: the first page makes the test set (minutes at load 20)
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
    # The checkpoint's folder and the bundled demos: Rollout's second checkpoint is one of them.
    roots = [str(checkpoint.parent), str(REPO / "models")]
    return dict(
        os.environ,
        LMC_DEMO_CHECKPOINT=str(checkpoint),
        LMC_CHECKPOINT_ROOTS=os.pathsep.join(roots),
        LMC_DASHBOARD_TRACE=str(workdir / "trace.txt"),
    )


def trace_lines(workdir: Path) -> list[str]:
    path = workdir / "trace.txt"
    return path.read_text().splitlines() if path.is_file() else []


def wait_idle(page, timeout_ms: int = WAIT_MS) -> None:
    page.wait_for_selector("[data-testid=stStatusWidget]", state="detached", timeout=timeout_ms)


def browser_timings(
    chromium: str, checkpoint: Path, repeats: int, workdir: Path, clicks: bool = True
) -> dict:
    from playwright.sync_api import sync_playwright

    from dashboard import bench_browser as bb
    from dashboard.server import CHROMIUM_ARGS, serving

    out: dict = {}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        page.set_default_timeout(WAIT_MS)
        page.add_init_script(bb.COUNT_RUNS_JS)  # for the clicks' timings
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
                if clicks:
                    times: dict[str, list[float]] = {}
                    try:
                        click_timings(page, checkpoint, repeats, times)
                    except Exception as err:  # keep what was measured; say what failed
                        out["clicks_error"] = f"{type(err).__name__}: {str(err)[:300]}"
                    for name, values in times.items():
                        out[name] = statistics.median(values)
                        out[f"{name}_all"] = values
        finally:
            browser.close()
    return out


def click_timings(page, checkpoint: Path, repeats: int, times: dict[str, list[float]]) -> None:
    """The clicks' timings (module docstring) in `page`, a tab that counts script runs
    (bench_browser.COUNT_RUNS_JS), appended to `times` {name: seconds} as they are measured, so
    that a failure keeps those measured before it."""
    from dashboard import bench_browser as bb

    bb.idle(page)

    def record(name: str, seconds: float) -> None:
        times.setdefault(name, []).append(seconds)

    # Page changes: every page below seen once first (its modules, model and caches).
    tour = ["Input", "Rollout", "Recall", "Intervene", "Model"]
    for title in tour:
        bb.timed(page, bb.nav_link(page, title).click)
    for _ in range(repeats):
        for title in tour:
            record("page_change_s", bb.timed(page, bb.nav_link(page, title).click))

    bb.timed(page, bb.nav_link(page, "Recall").click)
    page.locator(".st-key-recall-grid_chart .js-plotly-plot").wait_for()
    cells = page.evaluate(
        "() => document.querySelector('.st-key-recall-grid_chart .js-plotly-plot')"
        "._fullData[1].x.length"
    )
    for k in range(repeats):
        # The grid's invisible markers carry the cell ids: trace 1, one per cell.
        click = bb.point_clicker(page, "recall.grid_chart", 1, (k + 1) % cells)
        record("recall_cell_click_s", bb.timed(page, click))

    bb.timed(page, bb.nav_link(page, "Search").click)
    slider = page.locator(".st-key-search-clips").get_by_role("slider")
    if slider.get_attribute("aria-valuenow") != str(SEARCH_CLIPS):
        slider.focus()
        bb.timed(page, lambda: slider.press("Home"))  # its first step
    run = page.locator(".st-key-search-run-button button")
    if run.count():
        bb.timed(page, run.click)
    for k in range(repeats):
        card = page.get_by_role("button", name="Open on Recall").nth(k)
        recall = page.get_by_role("heading", name="Memory recall", exact=True)
        record("open_on_recall_s", bb.timed(page, card.click, shown=recall))
        bb.timed(page, bb.nav_link(page, "Search").click)

    bb.timed(page, bb.nav_link(page, "Intervene").click)
    up = page.locator(".st-key-intervene-slot [data-testid='stNumberInputStepUp']")
    for _ in range(repeats):
        record("intervene_run_s", bb.timed(page, up.click))

    bb.timed(page, bb.nav_link(page, "Rollout").click)
    others = [p.name for p in map(Path, _other_demos(checkpoint))]
    box = page.get_by_test_id("stSelectbox").filter(has_text="Compare with a second")
    for k in range(repeats):
        box.click()
        option = page.get_by_role("option").filter(has_text=others[k % len(others)])
        record("rollout_second_s", bb.timed(page, option.first.click))
        box.click()
        bb.timed(page, page.get_by_role("option").filter(has_text="(none)").first.click)
        # A new clip each time: the second model's rollout is not cached yet.
        bb.timed(page, bb.nav_link(page, "Input").click)
        step = page.locator(".st-key-input-test-next-button").get_by_role("button").first
        bb.timed(page, step.click)
        bb.timed(page, bb.nav_link(page, "Rollout").click)


def _other_demos(checkpoint: Path) -> list[str]:
    """The bundled demos other than `checkpoint` (all of them when it is none)."""
    from lmc.demos import available_demos, demo_path

    paths = [demo_path(d) for d in available_demos()]
    others = [p for p in paths if p.resolve() != checkpoint.resolve()]
    return [str(p) for p in others or paths]


def _first(result: dict, name: str) -> float | None:
    values = result.get(f"{name}_all")
    return values[0] if values else None


def main(argv: list[str] | None = None) -> dict:
    p = argparse.ArgumentParser(
        prog="python -m dashboard.bench", description=__doc__.splitlines()[0]
    )
    p.add_argument("--checkpoint", help="default: the bundled demo, else a random small model")
    p.add_argument("--repeats", type=int, default=5, help="rollouts of new clips to time")
    p.add_argument(
        "--clicks",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="time the clicks too (page change, Recall cell, Open on Recall, Intervene, "
        "Rollout's second checkpoint)",
    )
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
            result.update(browser_timings(chromium, checkpoint, args.repeats, workdir, args.clicks))
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    rows = [
        ("first page (server up -> Model page drawn)", result.get("first_page_s"), "first_page_s"),
        ("rollout shown, first clip", result.get("rollout_first_s"), None),
        ("rollout shown, new clip (median)", result.get("rollout_s"), "rollout_s"),
        ("rollout page complete, new clip (median)", result.get("rollout_page_complete_s"), None),
        ("model call alone, median", result["model_median_s"], None),
        ("frame slider (fragment rerun)", result.get("fragment_rerun_s"), None),
        ("page change (median)", result.get("page_change_s"), "page_change_s"),
        ("Recall cell click (median)", result.get("recall_cell_click_s"), "recall_cell_click_s"),
        ("Open on Recall from Search (median)", result.get("open_on_recall_s"), "open_on_recall_s"),
        ("Intervene run, next slot (median)", result.get("intervene_run_s"), "intervene_run_s"),
        ("Rollout second checkpoint (median)", result.get("rollout_second_s"), "rollout_second_s"),
        ("Rollout second checkpoint, first", _first(result, "rollout_second_s"), None),
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
    if "clicks_error" in result:
        print(f"  the clicks stopped early: {result['clicks_error']}")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {out}")
    return result


if __name__ == "__main__":
    main()
