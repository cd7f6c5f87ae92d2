"""lmc.analysis.compare on clips with motion contexts: the family figures of two memories and the
sentence that says which names the context, against passes built so the answers are exact."""

import numpy as np
import pytest

from lmc.analysis import compare as cp
from lmc.analysis.dataset_pass import DatasetPass

CLIPS, CELLS, SLOTS = 60, 16, 20
NAMES = ("published", "contexts")


def _pass(top: np.ndarray, family: np.ndarray | None, coverage: np.ndarray | None) -> DatasetPass:
    n, cells = top.shape
    weights = np.full((n, cells, SLOTS), 0.5 / (SLOTS - 1), np.float32)
    np.put_along_axis(weights, top[..., None], 0.5, axis=-1)
    zeros = np.zeros((n, cells, 4), np.float32)
    return DatasetPass(
        short_query=zeros,
        short_cosine=weights,
        short_weights=weights,
        short_readout=zeros,
        slots=np.eye(SLOTS, 4, dtype=np.float32),
        grid=(4, 4),
        last_frame=np.zeros((n, 64, 64), np.uint8),
        energy=np.zeros((n, 64, 64), np.uint8),
        clip_index=np.arange(n),
        families=None if family is None else np.zeros((n, 2), np.int16),
        cell_family=family,
        family_coverage=coverage,
    )


@pytest.fixture(scope="module")
def passes():
    """Clip i's cell c carries family (i + c) % 6, so over the 60 clips every cell sees each
    family 10 times: cell and family are independent, exactly. Cell 14 has no family and cell
    15's digit covers it too little (0.1 < 0.25): both are left out, 840 cells remain. A
    positional memory picks the cell's slot, a context memory the family's."""
    clip, cell = np.meshgrid(np.arange(CLIPS), np.arange(CELLS), indexing="ij")
    family = ((clip + cell) % 6).astype(np.int16)
    family[:, 14] = -1
    coverage = np.full(family.shape, 0.5, np.float32)
    coverage[:, 15] = 0.1
    # the positional memory's slot 15 is picked by an excluded cell only: it must not count
    positional = _pass(cell, family, coverage)
    contexts = _pass(family.clip(0) * 3, family, coverage)
    standard = _pass(cell, None, None)
    return [cp.summarise(p) for p in (positional, contexts, standard)]


def test_family_figures_count_only_the_cells_whose_family_is_known(passes):
    positional, contexts, standard = passes
    assert positional.nmi_family == pytest.approx(0.0, abs=1e-12)
    assert positional.nmi_family_cell == pytest.approx(1.0)
    assert contexts.nmi_family == pytest.approx(1.0)
    assert contexts.nmi_family_cell == pytest.approx(0.0, abs=1e-12)
    for control in (positional.nmi_family_shuffled, contexts.nmi_family_shuffled):
        assert 0 <= control < 0.05  # 840 cells, six families
    assert (positional.names_context, contexts.names_context) == (False, True)
    assert standard.nmi_family is None and standard.names_context is None


def test_the_family_sentence_says_which_memory_names_the_context(passes):
    positional, contexts, standard = passes
    said = cp.family_sentence(positional, contexts, NAMES)
    assert said == (
        "Top slot and the motion family (NMI): 0.00 vs 1.00 (shuffled "
        f"{positional.nmi_family_shuffled:.2f} vs {contexts.nmi_family_shuffled:.2f}; the cell, "
        "over the same cells: 1.00 vs 0.00) — contexts names the motion context (its top slot "
        "follows the family more than the cell); published does not."
    )
    assert cp.family_sentence(contexts, contexts, NAMES).endswith(
        "— both name the motion context: their top slot follows the family more than the cell."
    )
    assert cp.family_sentence(positional, positional, NAMES).endswith(
        "— neither names the motion context."
    )
    # Only when both sides ran over clips with families.
    assert cp.family_sentence(standard, contexts, NAMES) is None
    sentences = cp.differences(positional, contexts, NAMES)
    assert sentences[sentences.index(said) - 1].startswith("Top slot and the cell (NMI)")
    assert not any("motion family" in s for s in cp.differences(standard, standard, NAMES))
    rows = {r["measure"]: r for r in cp.numbers(positional, contexts, NAMES)}
    assert rows["nmi_family"][NAMES[1]] == pytest.approx(1.0)
    assert rows["nmi_family_cell"][NAMES[0]] == pytest.approx(1.0)
