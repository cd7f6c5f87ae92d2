"""The Search page's choices, named once: the page draws them and a link (dashboard/link_table.py)
names them, and a page script cannot be imported."""

from __future__ import annotations

from lmc.analysis import search as se

ANY = "any"
RANGE = "a range of degrees"
DIRECTIONS = (ANY, *se.DIRECTION_NAMES, RANGE)
# The sort radio's labels and lmc.analysis.search's sorts they stand for.
SORTS = {"weight on the top slot, highest first": "weight", "clip, then cell": "clip"}
DEGREES_DEFAULT = (315, 45)  # around rightwards: shows the wrap through 0 at once
SPEED_STEP = 0.5
