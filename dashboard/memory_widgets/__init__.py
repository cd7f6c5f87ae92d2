"""Figures and pictures of the memory pages (recall, slot atlas, embeddings, intervene).

Figure and picture functions are plain: numpy in, a Plotly figure or a uint8 image out, testable
on their own. Heatmaps emit no selection events in Streamlit, so every figure that should answer
a click carries invisible scatter markers whose customdata names what was hit (read back with
dashboard/selection.py). `dataset_sample`
draws with Streamlit (the dataset pass shared by the atlas and embeddings), and so does
`gallery.show` (the cards of the atlas and the Search page; import `gallery` itself).

Pages import this package as `mw`; each module holds one page's figures.
"""

from dashboard.memory_widgets.atlas_figures import direction_rose, usage_figure
from dashboard.memory_widgets.cells import (
    DIRECTION_NOTE,
    INK,
    arrow,
    cell_card,
    degrees_text,
    direction_text,
    draw_box,
    enlarged,
    motion_text,
    rgb,
    to_gray_uint8,
)
from dashboard.memory_widgets.difference_figure import difference_figure
from dashboard.memory_widgets.embedding_figure import (
    PIN_MARGIN,
    embedding_figure,
    palette,
    pin_to_view,
    view_range,
)
from dashboard.memory_widgets.recall_figures import (
    cell_stats_figure,
    cell_values_figure,
    distribution_figure,
    gates_figure,
    grid_figure,
    value_range,
    weights_heatmap,
)
from dashboard.memory_widgets.sample import dataset_sample

__all__ = [
    "DIRECTION_NOTE",
    "INK",
    "PIN_MARGIN",
    "arrow",
    "cell_card",
    "cell_stats_figure",
    "cell_values_figure",
    "degrees_text",
    "dataset_sample",
    "difference_figure",
    "direction_rose",
    "direction_text",
    "distribution_figure",
    "draw_box",
    "embedding_figure",
    "enlarged",
    "gates_figure",
    "grid_figure",
    "motion_text",
    "palette",
    "pin_to_view",
    "rgb",
    "to_gray_uint8",
    "usage_figure",
    "value_range",
    "view_range",
    "weights_heatmap",
]
