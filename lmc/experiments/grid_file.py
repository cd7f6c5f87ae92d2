"""A grid as a TOML file, for `lmc grid GRID.toml`: the same arguments `run_grid` takes.

    root = "runs/ablations"     # on a cluster: a folder every node mounts at the same path
    seeds = [0, 1]
    variants = "ablation"       # a named set: ablation, standard, memory-study
    cluster = "local"           # optional: "local", "auto", "HOST:6379", "ray://HOST:10001"

    [budget]
    base = "tiny"               # a named budget: tiny, cpu_demo, screen, paper
    iterations = 100            # any other Budget field replaces the named budget's

    # or variants of your own, in this order (each a Variant's training settings):
    # [variants]
    # full = {}
    # no-memory = { memory = false }

Unknown keys and values of the wrong type fail with the valid ones listed.
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from lmc.errors import ConfigError
from lmc.experiments.variants import (
    Budget,
    Variant,
    ablation_grid,
    memory_study_variants,
    standard_variants,
)

BUDGETS = {
    "tiny": Budget.tiny,
    "cpu_demo": Budget.cpu_demo,
    "screen": Budget.screen,
    "paper": Budget.paper,
}
VARIANT_SETS = {
    "ablation": ablation_grid,
    "standard": lambda budget: standard_variants(),
    "memory-study": lambda budget: memory_study_variants(),
}
# key -> (type of its value, what it holds); budget and variants are read apart
KEYS: dict[str, tuple[type | tuple[type, ...], str]] = {
    "root": (str, "the grid's folder"),
    "seeds": (list, "a list of seeds"),
    "cluster": (str, "'local', 'auto' or a Ray address"),
    "cpus_per_row": (int, "CPUs a row's task asks for"),
    "retries": (int, "attempts after a row's worker dies"),
    "budget": (dict, "a table: base and Budget fields"),
    "variants": ((str, dict), "a named set or a table of variants"),
}
FIELD_TYPES = {"int": int, "int | None": int, "float": (int, float), "str": str}


@dataclass(frozen=True)
class GridFile:
    """What a grid file asks for; its fields are `run_grid`'s arguments."""

    variants: list[Variant]
    budget: Budget
    seeds: tuple[int, ...] = (0,)
    root: str = "runs/ablations"
    cluster: str | None = None
    cpus_per_row: int = 1
    retries: int = 2


def _is(value: Any, kind: type | tuple[type, ...]) -> bool:
    kinds = kind if isinstance(kind, tuple) else (kind,)
    if isinstance(value, bool):  # TOML's true is not a number
        return bool in kinds
    return isinstance(value, kinds)


def _budget(table: dict[str, Any], source: str) -> Budget:
    changes = dict(table)
    base = changes.pop("base", "tiny")
    if base not in BUDGETS:
        raise ConfigError(f"{source}: budget base {base!r}; valid bases: {', '.join(BUDGETS)}")
    fields = {f.name: f.type for f in dataclasses.fields(Budget)}
    for key, value in changes.items():
        if key not in fields:
            raise ConfigError(
                f"{source}: unknown budget key {key!r}; valid keys: base, {', '.join(fields)}"
            )
        kind = dict if key == "extra" else FIELD_TYPES[fields[key]]
        if not _is(value, kind):
            raise ConfigError(f"{source}: budget {key} = {value!r} is not a {fields[key]}")
    try:
        return BUDGETS[base](**changes)
    except ValueError as err:
        raise ConfigError(f"{source}: {err}") from None


def _variants(value: str | dict[str, Any], budget: Budget, source: str) -> list[Variant]:
    if isinstance(value, str):
        if value not in VARIANT_SETS:
            raise ConfigError(
                f"{source}: variants = {value!r}; the named sets are {', '.join(VARIANT_SETS)}, "
                "or give a [variants] table"
            )
        return VARIANT_SETS[value](budget)
    variants = []
    for name, settings in value.items():
        if not isinstance(settings, dict):
            raise ConfigError(
                f"{source}: variant {name!r} = {settings!r}; each variant is a table of "
                "training settings, e.g. no-memory = { memory = false }"
            )
        try:
            variants.append(Variant(name, **settings))
        except ValueError as err:
            raise ConfigError(f"{source}: {err}") from None
    if not variants:
        raise ConfigError(f"{source}: the [variants] table is empty")
    return variants


def load_grid_file(path: str | Path) -> GridFile:
    """Read and check a grid file (see the module's docstring)."""
    path = Path(path)
    source = str(path)
    try:
        values = tomllib.loads(path.read_text())
    except tomllib.TOMLDecodeError as err:
        raise ConfigError(f"{source}: not valid TOML ({err})") from None
    unknown = sorted(set(values) - set(KEYS))
    if unknown:
        valid = "; ".join(f"{k} ({what})" for k, (_, what) in KEYS.items())
        raise ConfigError(f"{source}: unknown keys {unknown}; valid keys: {valid}")
    for key, value in values.items():
        kind, what = KEYS[key]
        if not _is(value, kind):
            raise ConfigError(f"{source}: {key} = {value!r}; expected {what}")
    if "variants" not in values:
        raise ConfigError(
            f'{source}: no variants; give a named set (variants = "ablation") or a [variants] table'
        )
    seeds = values.get("seeds", [0])
    if not seeds or not all(_is(s, int) and s >= 0 for s in seeds):
        raise ConfigError(f"{source}: seeds = {seeds!r}; expected a list of integers >= 0")
    budget = _budget(values.get("budget", {}), source)
    return GridFile(
        variants=_variants(values["variants"], budget, source),
        budget=budget,
        seeds=tuple(seeds),
        **{k: values[k] for k in ("root", "cluster", "cpus_per_row", "retries") if k in values},
    )
