"""Choosing a checkpoint inside the checkpoint folders: a file from the list or a typed path,
checked against the folders when a button asks for it. Shared by the Model page and the Compare
memories page's second model, so both refuse the same paths with the same words."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard.settings import (
    CHECKPOINT_SUFFIXES,
    display_path,
    find_files,
    inside_roots,
    label_paths,
)


class FolderChoice:
    """The picker's widgets, drawn in `where`; `chosen()` checks what they hold."""

    def __init__(self, where, roots: list[Path], pick_key: str, typed_key: str):
        self.roots = roots
        # Options are label strings (plain values keep their state across pages).
        self.files = label_paths(find_files(roots, CHECKPOINT_SUFFIXES), roots)
        where.caption("Folders: " + ", ".join(f"`{display_path(r)}`" for r in roots))
        self.picked = where.selectbox(
            "Checkpoint file",
            list(self.files),
            key=pick_key,
            placeholder="no checkpoint in these folders" if not self.files else "choose a file",
        )
        self.typed = where.text_input(
            "or a path inside those folders",
            key=typed_key,
            placeholder="runs/my-run/best.safetensors",
        ).strip()

    def chosen(self) -> tuple[Path, str] | None:
        """(path inside the folders, its label), or None after an error in the page."""
        chosen = self.typed or self.files.get(self.picked)
        if not chosen:
            st.error("Choose a checkpoint file or type its path.", icon=":material/error:")
            return None
        try:
            path = inside_roots(chosen, self.roots)
        except ValueError as err:
            st.error(str(err), icon=":material/block:")
            return None
        return path, self.typed or self.picked
