"""Model cards and other text read from a checkpoint, made safe to render.

A card is the checkpoint author's markdown, shown to whoever opens the checkpoint. An image in it
(`![alt](https://...)`) would make the browser fetch that address as soon as the Model page
draws: it tells a third party who opened which model, and from where. Images are therefore shown
as text naming what they would have fetched; links stay links (a click is the user's choice);
raw HTML is never rendered (`st.markdown` escapes it by default, and this module never asks
otherwise). Metadata of the wrong type becomes a note instead of breaking the page.
"""

from __future__ import annotations

import re
from typing import Any

# ![alt](target "title") and ![alt][ref]: the two markdown forms of an image.
_INLINE_IMAGE = re.compile(r"!\[([^\]\n]*)\]\(([^)\n]*)\)")
_REFERENCE_IMAGE = re.compile(r"!\[([^\]\n]*)\]\[([^\]\n]*)\]")
MAX_CARD_CHARS = 200_000


def _image_as_text(match: re.Match) -> str:
    alt, target = match.group(1).strip(), match.group(2).strip()
    return f"*(image not shown: {alt or 'no description'}, `{target.replace('`', '')}`)*"


def offline_markdown(text: str) -> str:
    """`text` with every markdown image replaced by a note, so rendering it fetches nothing."""
    text = _INLINE_IMAGE.sub(_image_as_text, text)
    text = _REFERENCE_IMAGE.sub(_image_as_text, text)
    # Whatever image syntax is left (nested brackets, odd spacing) is escaped into plain text.
    return text.replace("![", "!\\[")


def card_markdown(value: Any) -> tuple[str, str | None]:
    """A model card from checkpoint metadata -> (markdown safe to render, a note or None).

    Anything but a string is refused with a note; an oversized card is cut with a note."""
    if value is None or value == "":
        return "", None
    if not isinstance(value, str):
        return "", f"The checkpoint's model card is a {type(value).__name__}, not text: not shown."
    note = None
    if len(value) > MAX_CARD_CHARS:
        value = value[:MAX_CARD_CHARS]
        note = f"The model card is longer than {MAX_CARD_CHARS:,} characters: cut there."
    return offline_markdown(value), note
