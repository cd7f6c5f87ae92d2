"""`lmc grid GRID.toml`: the grid file's checks, and a grid run from the command line."""

import pandas as pd
import pytest

import lmc_cli
from lmc.errors import ConfigError
from lmc.experiments import Budget, ablation_grid
from lmc.experiments.grid_file import load_grid_file

MICRO = """
[budget]
base = "tiny"
name = "micro"
iterations = 2
batch_size = 2
out_len = 3
long_len = 12
val_clips = 4
val_every = 1
print_freq = 1
sample_clips = 1
device = "cpu"
"""


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("LMC_CACHE_DIR", str(tmp_path / "cache"))


def write(tmp_path, text: str):
    path = tmp_path / "grid.toml"
    path.write_text(text)
    return path


def test_a_named_set_over_a_named_budget_with_the_files_changes(tmp_path):
    grid = load_grid_file(
        write(
            tmp_path,
            'root = "/data/grid"\nseeds = [3, 4]\nvariants = "ablation"\ncluster = "auto"\n'
            '[budget]\nbase = "cpu_demo"\niterations = 50\nlr = 3e-4\n[budget.extra]\namp = "off"',
        )
    )
    assert grid.budget == Budget.cpu_demo(iterations=50, lr=3e-4, extra={"amp": "off"})
    assert [v.name for v in grid.variants] == [v.name for v in ablation_grid(grid.budget)]
    assert (grid.seeds, grid.root, grid.cluster) == ((3, 4), "/data/grid", "auto")
    assert (grid.cpus_per_row, grid.retries) == (1, 2)  # run_grid's defaults


def test_variants_of_ones_own_keep_the_files_order(tmp_path):
    text = (
        '[variants]\nzeta = {}\nno-memory = { memory = false }\n"temp0.1" = { temperature = 0.1 }'
    )
    grid = load_grid_file(write(tmp_path, text))
    assert [(v.name, v.overrides) for v in grid.variants] == [
        ("zeta", {}),
        ("no-memory", {"memory": False}),
        ("temp0.1", {"temperature": 0.1}),
    ]
    assert grid.budget == Budget.tiny() and grid.seeds == (0,)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('variants = "standard"\nseed = [1]', r"unknown keys \['seed'\]; valid keys: root"),
        ('variants = "standard"\n[budget]\nbase = "huge"', "budget base 'huge'; valid bases: tiny"),
        ('variants = "standard"\n[budget]\niters = 5', "unknown budget key 'iters'.*iterations"),
        ('variants = "standard"\n[budget]\niterations = "5"', "budget iterations = '5' is not"),
        ('variants = "standard"\n[budget]\nlr = true', "budget lr = True is not a float"),
        ('variants = "standard"\n[budget]\nlong_len = 99', "long_len=99"),
        ('variants = "everything"', "named sets are ablation, standard, memory-study"),
        ("[variants]\nx = { memory_slots = 5 }", "unknown settings.*memory_slots"),
        ("[variants]\nx = 5", "each variant is a table"),
        ('variants = "standard"\nseeds = [-1]', "seeds = \\[-1\\]"),
        ('variants = "standard"\ncpus_per_row = "2"', "cpus_per_row = '2'; expected"),
        ("seeds = [0]", "no variants"),
        ("variants = [", "not valid TOML"),
    ],
)
def test_a_bad_grid_file_is_one_clear_error(tmp_path, text, message):
    with pytest.raises(ConfigError, match=message):
        load_grid_file(write(tmp_path, text))


def test_lmc_grid_trains_writes_the_table_and_ends_in_status_1_for_failed_rows(tmp_path, capsys):
    text = 'root = "from-the-file"\nseeds = [7]\n[variants]\nno-memory = { memory = false }\n'
    path = write(tmp_path, text + 'bf16 = { amp = "bf16" }\n' + MICRO)
    root = tmp_path / "grid"
    with pytest.raises(SystemExit) as stop:
        lmc_cli.main(["grid", str(path), "--root", str(root), "--seeds", "0"])
    assert stop.value.code == 1
    out, err = capsys.readouterr()
    assert err.strip().splitlines()[-1] == (
        "lmc grid: training stopped: 1 of 2 rows failed (bf16 seed 0: ConfigError: amp=bf16 "
        "needs a CUDA device (this run is on cpu))"
    )
    table = pd.read_csv(root / "micro" / "table.csv")  # the flags won over the file
    assert table["variant"].tolist() == ["no-memory", "bf16"]
    assert table["seed"].tolist() == [0, 0] and table["iterations"].tolist() == [2, 0]
    assert table["error"].isna().tolist() == [True, False]
    assert "no-memory" in out and f"table: {root / 'micro' / 'table.csv'}" in out
    assert not (tmp_path / "from-the-file").exists()
