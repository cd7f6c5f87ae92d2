"""Every session-state and widget key of the dashboard, named once, namespaced by page.

A page reads and writes `st.session_state[keys.Recall.CELL]`, never the bare string, so that two
pages that share a value (Intervene starts from the slot chosen on the Slot atlas) name the same
key, and a test or benchmark that sets a key sets the one the page reads.

Keys of buttons and file uploaders end in ".button" / ".upload" (`ACTION_SUFFIXES`): Streamlit
does not let session_state set their values. Every other key in `NAMESPACES` keeps its value when
the user switches pages (dashboard/widget_state.py). A chart's key also names its element in the
browser: Streamlit gives it the CSS class `st-key-<key with dots as dashes>`.
"""

from __future__ import annotations

ACTION_SUFFIXES = (".button", ".upload")


class Model:
    CURRENT = "model.current"  # a model_state.ModelRef: the session's model
    DEMO_TRIED = "model.demo_tried"
    DEMO_ERROR = "model.demo_error"
    SOURCE = "model.source"
    DEMO_BUTTON = "model.demo.button"
    DEMO_CHOICE = "model.demo.choice"  # which bundled demo the Model page offers to open
    DEMO_REQUEST = "model.demo.request"  # the demo's path its button asked to open
    PICK = "model.pick"
    TYPED_PATH = "model.typed_path"
    DATASET = "model.dataset"
    OPEN_BUTTON = "model.open.button"
    UPLOAD_DATASET = "model.upload_dataset"
    UPLOAD = "model.file.upload"
    UPLOADED = "model.uploaded"  # (file_id, dataset) of the upload opened last
    CURVES = "model.curves"
    PASS_SPEED = "model.pass_speed"  # {model key: seconds per clip of its last dataset pass}


class Input:
    CLIP = "input.clip"  # the lmc.analysis.inputs.Clip every page works on
    ORIGIN = "input.origin"  # ("test", index) for a test-set clip, else None
    SOURCE = "input.source"
    TEST_INDEX = "input.test.index"
    TEST_NUMBER = "input.test.number"  # the number input beside the test-clip slider
    TEST_PREVIOUS = "input.test.previous.button"
    TEST_NEXT = "input.test.next.button"
    TEST_RANDOM = "input.test.random.button"
    TEST_MOTION = "input.test.motion"  # the session's test set: "standard" or "contexts"
    TEST_MOTION_FOR = "input.test.motion_for"  # the model whose training data set it last
    RANDOM = "input.random"  # the numpy Generator behind the random buttons
    RANDOM_SEED = "input.random.seed"  # its seed where set (tests); fresh entropy otherwise
    PROBE_COUNT = "input.probe.count"
    PROBE_FUTURE = "input.probe.future"
    PROBE_DIRECTION = "input.probe.direction"
    PROBE_SPEED = "input.probe.speed"
    PROBE_TURN = "input.probe.turn"
    PROBE_FAMILY = "input.probe.family"  # a motion family; "bounce": direction and speed
    PROBE_DRAW = "input.probe.draw"  # a family's parameters: "mid-range" or from a "seed"
    PROBE_SEED = "input.probe.seed"
    UPLOAD = "input.file.upload"
    UPLOAD_RESIZE = "input.upload.resize"
    NPY_PICK = "input.npy.pick"
    NPY_LAYOUT = "input.npy.layout"
    NPY_LAYOUT_FOR = "input.npy.layout_for"  # the file the layout was guessed for
    NPY_INDEX = "input.npy.index"
    NPY_NUMBER = "input.npy.number"
    NPY_PREVIOUS = "input.npy.previous.button"
    NPY_NEXT = "input.npy.next.button"
    NPY_RANDOM = "input.npy.random.button"
    FOLDER_PICK = "input.folder.pick"
    FOLDER_CLIP_LEN = "input.folder.clip_len"
    FOLDER_INDEX = "input.folder.index"
    TRAJECTORY = "input.trajectory"
    SWEEP_STEP = "input.sweep.step"  # degrees between the probe sweep's directions
    SWEEP_SPEEDS = "input.sweep.speeds"
    SWEEP_DIGITS = "input.sweep.digits"
    SWEEP_BUTTON = "input.sweep.button"
    SWEEP_RAN = "input.sweep.ran"  # the settings of the sweep on show
    SWEEP_FIGURE = "input.sweep.figure"

    @staticmethod
    def probe_digit(i: int) -> str:
        return f"input.probe.digit{i}"

    @staticmethod
    def split(source: str) -> str:
        """The input-length slider of one source ("test_set", "upload", ...)."""
        return f"input.split.{source}"


class Rollout:
    OUT_LEN = "rollout.out_len"
    OUT_LEN_FOR = "rollout.out_len_for"  # the clip the frame count was set for
    COMPARE = "rollout.compare"
    METHOD_DIR = "rollout.method_dir"
    METHOD_UPLOAD = "rollout.method.upload"
    METHOD_NAME = "rollout.method_name"
    METHOD_INDEX = "rollout.method_index"
    METHOD_USE_BUTTON = "rollout.method_use.button"
    FRAME = "rollout.frame"
    CURVES = "rollout.curves"


class Recall:
    CELL = "recall.cell"
    MEASURE = "recall.measure"
    PHASE = "recall.phase"
    GRID_CHART = "recall.grid_chart"
    HEATMAP = "recall.heatmap"
    HEATMAP_LONG = "recall.heatmap_long"
    DISTRIBUTION = "recall.distribution"
    ENTROPY = "recall.entropy"
    AGREE = "recall.agree"
    KL = "recall.kl"
    COSINE = "recall.cosine"
    GATES = "recall.gates"


class Atlas:
    CLIPS = "atlas.clips"
    RUN_BUTTON = "atlas.run.button"
    PHASE = "atlas.phase"
    SLOT = "atlas.slot"  # also Intervene's first slot
    USAGE_CHART = "atlas.usage_chart"
    ROSE = "atlas.rose"
    WHERE = "atlas.where"
    SEARCH_BUTTON = "atlas.search.button"  # all the cells of the slot, on the Search page
    FAMILY_CHART = "atlas.family_chart"  # the slot's family make-up: a click opens Search
    FAMILY_REQUEST = "atlas.family_request"  # the family its click asked to search for


class Embeddings:
    CLIPS = "embeddings.clips"
    RUN_BUTTON = "embeddings.run.button"
    SPACE = "embeddings.space"
    PHASE = "embeddings.phase"
    POINTS = "embeddings.points"
    OCCUPIED = "embeddings.occupied"
    MAP_KEY = "embeddings.map_key"  # what the current map is of; a new one drops the selection
    MAP = "embeddings.map"
    UMAP_DONE = "embeddings.umap_done"
    UMAP_BUTTON = "embeddings.umap.button"
    COLOUR = "embeddings.colour"
    DRAG = "embeddings.drag"
    SHOW_SLOTS = "embeddings.show_slots"
    CHART = "embeddings.chart"
    SELECTED = "embeddings.selected"  # point ids: >= 0 a context, -1 - k slot k


class Intervene:
    SOURCE = "intervene.source"
    WHERE = "intervene.where"
    CELL = "intervene.cell"
    SLOT = "intervene.slot"
    STRENGTH = "intervene.strength"
    DONOR = "intervene.donor"
    DONOR_WHAT = "intervene.donor_what"
    GRID_CHART = "intervene.grid_chart"
    STEP = "intervene.step"  # the output step of the enlarged view
    CURVE = "intervene.curve"


class Search:
    CLIPS = "search.clips"
    RUN_BUTTON = "search.run.button"
    PHASE = "search.phase"
    SLOT = "search.slot"  # the top-1 slot searched for; None: any (the atlas sets it)
    DIRECTION = "search.direction"
    DEGREES_FROM = "search.degrees_from"
    DEGREES_TO = "search.degrees_to"
    SPEED = "search.speed"
    SPEED_TOP = "search.speed_top"  # the slider's top: (0, top) filters nothing
    DIGIT = "search.digit"
    FAMILY = "search.family"  # a motion family's name; None: any
    CELL = "search.cell"
    ROW = "search.row"
    COL = "search.col"
    SORT = "search.sort"
    PAGE = "search.page"
    PAGE_FOR = "search.page_for"  # the search the page number belongs to: a new one starts at 1
    OPEN = "search.open.pending"  # (pass clip, cell) an "Open on Recall" button asked for
    PREVIOUS = "search.previous.button"
    NEXT = "search.next.button"

    @staticmethod
    def open_button(i: int) -> str:
        """The button under card i of the page that opens it on the Recall page."""
        return f"search.open{i}.button"


class Health:
    CLIPS = "health.clips"
    MEASURE_BUTTON = "health.measure.button"
    LAST_SECONDS = "health.last_seconds"


class Compare:
    """The Compare memories page: the session's model on the left, a second one on the right."""

    SOURCE = "compare.source"  # where the second model comes from: a bundled demo or a path
    DEMO = "compare.demo"
    PICK = "compare.pick"
    TYPED_PATH = "compare.typed_path"
    OPEN_BUTTON = "compare.open.button"
    OTHER = "compare.other"  # a model_state.ModelRef: the checkpoint opened from a path
    CLIPS = "compare.clips"
    RUN_BUTTON = "compare.run.button"
    PHASE = "compare.phase"
    CLIP = "compare.clip"  # the clip of the recall section, by its index in the test set
    CELL = "compare.cell"
    GRID_CHART = "compare.grid_chart"
    USAGE_LEFT = "compare.usage.left"
    USAGE_RIGHT = "compare.usage.right"
    MAP_LEFT = "compare.map.left"
    MAP_RIGHT = "compare.map.right"
    MAP_COLOUR = "compare.map_colour"  # the maps' colouring: true direction or motion family
    CELL_LEFT = "compare.cell_chart.left"
    CELL_RIGHT = "compare.cell_chart.right"


class Url:
    """What dashboard/url_state.py keeps between runs (not widgets: no page namespace)."""

    PAGE = "url.page"  # the title of the page this run shows
    WRITTEN = "url.written"  # the query parameters this session wrote lately, the last last
    NOTES = "url.notes"  # (page title, [messages]): the values of the last link that were ignored


PAGES = (Model, Input, Rollout, Health, Recall, Atlas, Search, Embeddings, Intervene, Compare)
NAMESPACES = tuple(f"{page.__name__.lower()}." for page in PAGES)


def constants(page: type) -> dict[str, str]:
    """{name: key} of one page's constant keys (for tests: each lies in its namespace)."""
    return {k: v for k, v in vars(page).items() if k.isupper() and isinstance(v, str)}
