"""The README fits on a screen and stays true to the code: at most 1,000 words, its "Start here"
names the pages the Model page shows a new user (dashboard/start_here.py) in the same order, the
demo it names is the one the dashboard opens, and every file it links to exists."""

import re
from pathlib import Path

from dashboard.start_here import STEPS
from lmc.demos import DEMOS, default_demo

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", README, re.M | re.S)
    assert match, f"the README has no section '## {title}'"
    return match.group(1)


def test_the_readme_fits_on_a_screen():
    words = len(re.findall(r"\S+", README))
    assert words <= 1000, f"{words} words"


def test_start_here_follows_the_model_pages_steps():
    named = re.findall(r"^\d+\. \*\*(.+?)\*\*", section("Start here"), re.M)
    assert named == [page.title for page, _ in STEPS]


def test_the_demo_named_is_the_one_the_dashboard_opens():
    # Named in one place, so a new default demo changes one line.
    folders = {str(path.parent) for path in DEMOS.values()}
    named = [folder for folder in folders if f"`{folder}/`" in README]
    assert named == [str(DEMOS[default_demo()].parent)]


def test_every_linked_file_exists():
    links = re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", README)
    local = [link for link in links if "://" not in link]
    assert local, "no links found"
    missing = [link for link in local if not (ROOT / link).exists()]
    assert missing == []
