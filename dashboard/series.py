"""The names of the series that several figures, tables and grids share, and their colours.

A method is named the same in the per-frame curves, the score table and the legends (the Rollout
page); a recall phase the same on the Recall, Slot atlas and Embeddings pages and in the
distribution figure's legend. Name one here and use it everywhere it appears.
"""

from __future__ import annotations

# Methods of the Rollout page (dict keys of its scores and predictions).
MODEL = "model"
COPY_LAST = "copy last frame"
ZEROS = "all-zero frames"
BASELINES = (COPY_LAST, ZEROS)  # the two floors every model is compared with
SECOND_MODEL = "second model"
# Rows and panels of the frame grids.
PREDICTION = "prediction"  # the model's own row (MODEL in the scores)
GROUND_TRUTH = "ground truth"

COLORS = {MODEL: "#2563eb", COPY_LAST: "#9ca3af", ZEROS: "#4b5563", SECOND_MODEL: "#ea580c"}
METHOD_COLORS = ("#16a34a", "#9333ea", "#db2777", "#0891b2", "#ca8a04")  # other methods, in order

# The two recalls of LMC-Memory: from the short input (inference, training phase 2) and from the
# long window of input and future (training phase 1); `PHASES` maps them to the arrays' names.
SHORT_RECALL = "short input (phase 2)"
LONG_RECALL = "long window (phase 1)"
PHASES = {SHORT_RECALL: "short", LONG_RECALL: "long"}
BOTH_RECALLS = "both, side by side"  # the Recall page's third view: the two heatmaps
RECALL_COLORS = {SHORT_RECALL: "rgb(40,100,200)", LONG_RECALL: "rgb(240,140,20)"}


def shown(method: str) -> str:
    """A method's label in the frame grids: the model's own row is its prediction."""
    return PREDICTION if method == MODEL else method
