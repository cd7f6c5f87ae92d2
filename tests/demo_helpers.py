"""What every bundled demo with a no-memory twin beside it ships (models/demo-contexts/): the two
checkpoints on the motion-context test set with the same predictor, and each one's card, training
log and test metrics named after it (`train.export_model --shared_folder`)."""

import json
from pathlib import Path

from lmc import load_checkpoint


def shipped_pair(model_path: Path, twin_path: Path, predictor_frames: int):
    """(model, its metadata, twin, its metadata), after checking what both must ship with."""
    model, meta = load_checkpoint(model_path)
    twin, twin_meta = load_checkpoint(twin_path)
    assert model.memory is not None and twin.memory is None
    assert model.config.predictor_frames == twin.config.predictor_frames == predictor_frames
    assert meta["motion"] == twin_meta["motion"] == "contexts"  # the dashboard's test set
    for path, card in ((model_path, meta["model_card"]), (twin_path, twin_meta["model_card"])):
        assert path.with_name(f"{path.stem}.MODEL_CARD.md").read_text() == card
        assert path.with_name(f"{path.stem}.metrics.jsonl").is_file()
        assert json.loads(path.with_name(f"{path.stem}.test_metrics.json").read_text())["model"]
    return model, meta, twin, twin_meta
