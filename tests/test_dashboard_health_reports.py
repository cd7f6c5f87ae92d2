"""The dashboard's side of the health report: which page shows each finding's evidence, and the
report a checkpoint carries or keeps beside it."""

import json
from pathlib import Path

from dashboard import views
from dashboard.health_reports import EVIDENCE, kept_report
from dashboard.model_state import LoadedModel
from lmc.analysis.health_report import HealthReport, read_report

LIVE = Path(__file__).resolve().parents[1] / "models/demo-live/lmc-small-mnist-live.health.json"


def _loaded(path: Path, metadata: dict | None = None) -> LoadedModel:
    return LoadedModel(None, metadata or {}, path, path.name, "0" * 64, None)


def test_every_finding_of_a_full_report_links_a_page_of_the_menu():
    names = [f.name for f in read_report(LIVE).findings()]
    assert set(EVIDENCE) == set(names) | {"context"}  # context: on clips with motion families
    assert {spec for spec, _ in EVIDENCE.values()} <= set(views.PAGES)
    assert EVIDENCE["use"][0] is views.INTERVENE and EVIDENCE["alignment"][0] is views.RECALL


def test_the_report_comes_from_the_metadata_then_the_file_beside(tmp_path):
    checkpoint = tmp_path / "m.safetensors"
    assert kept_report(_loaded(checkpoint)) is None  # neither
    (tmp_path / "m.health.json").write_text(LIVE.read_text())
    assert kept_report(_loaded(checkpoint)) == read_report(LIVE)
    carried = kept_report(_loaded(checkpoint, {"health": {"clips": 64, "slots_alive": 5}}))
    assert isinstance(carried, HealthReport) and (carried.clips, carried.slots_alive) == (64, 5)
    # A foreign entry in the metadata falls back to the file; a torn file is no report.
    fallback = kept_report(_loaded(checkpoint, {"health": {"clips": "all"}}))
    assert fallback is not None and fallback.clips == json.loads(LIVE.read_text())["clips"]
    (tmp_path / "m.health.json").write_text('{"clips": 6')
    assert kept_report(_loaded(checkpoint)) is None
