"""The pages' choices that a link names, each named once: the page draws them and the link table
(dashboard/link_table.py) gives each a short name in the URL. A page script cannot be imported,
so they live here (the Search page's in dashboard/search_options.py)."""

from __future__ import annotations

# Intervene: what the memory recalls instead, where, and how strongly one slot.
ONE_SLOT, OTHER_CLIP = "one memory slot", "another test clip's recall"
INTERVENE_SOURCES = (ONE_SLOT, OTHER_CLIP)
WHOLE_GRID, ONE_CELL = "the whole grid", "one cell"
WHERE = (WHOLE_GRID, ONE_CELL)
DONOR_WHAT = {"its addressing weights": "weights", "its readout": "readout"}
MOST_ALLOWED, ONE_HOT = "the most the softmax allows", "the slot alone (one-hot)"
STRENGTHS = (MOST_ALLOWED, ONE_HOT)

# Recall: the addressing heatmap's measures (label -> lmc.analysis.recall's measure name).
MEASURES = {
    "weight − 1/S": "centred",
    "weight − mean of the cells": "cell-specific",
    "cosine": "cosine",
    "rank (0 = top)": "rank",
    "weight": "weight",
}

# Embeddings: what a point is, how the map is made, how many points, how they are coloured.
SPACES = {"recalled contexts (readouts)": "readout", "queries": "query"}
MAPS = ("PCA", "UMAP")
POINTS_RANGE = (500, 8000, 500)
POINTS_DEFAULT = 2000
FAMILY = "motion family"  # the colouring of a pass over clips with motion contexts
# Every colouring by its name in a link; the page offers those its pass can show.
COLOURS = {
    "family": FAMILY,
    "action": "KTH action",
    "direction": "true direction",
    "speed": "speed",
    "digit": "digit",
    "slot": "top slot",
    "entropy": "entropy / log S",
    "occupancy": "occupancy",
    "cell": "cell",
}

# Compare memories: the maps' colouring.
MAP_COLOURS = ("true direction", FAMILY)

# Memory health: how many generated test clips a measurement runs on.
HEALTH_CLIPS = (64, 128, 256, 512, 1000)
HEALTH_CLIPS_DEFAULT = 256

# Rollout: no second checkpoint.
NO_SECOND = "(none)"
