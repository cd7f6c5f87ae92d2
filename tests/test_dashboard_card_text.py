"""Model cards render without fetching anything, and wrong types become notes."""

from dashboard.card_text import MAX_CARD_CHARS, card_markdown, offline_markdown


def test_images_become_text_that_names_what_they_would_fetch():
    card = "Intro\n![loss curve](https://tracker.example/pixel.png?who=me) and ![](x.png)\n"
    safe = offline_markdown(card)
    assert "![" not in safe
    assert "*(image not shown: loss curve, `https://tracker.example/pixel.png?who=me`)*" in safe
    assert "*(image not shown: no description, `x.png`)*" in safe
    assert safe.startswith("Intro\n")


def test_reference_images_and_odd_forms_are_escaped_too():
    safe = offline_markdown("![a][ref]\n\n[ref]: https://x.example/p.gif\n![b [nested]](y)")
    assert "*(image not shown: a, `ref`)*" in safe
    assert "![" not in safe  # the nested form is left as escaped text


def test_links_stay_links():
    assert offline_markdown("[paper](https://arxiv.org/abs/2104.00924)") == (
        "[paper](https://arxiv.org/abs/2104.00924)"
    )


def test_a_card_of_the_wrong_type_or_size_gets_a_note():
    assert card_markdown(None) == ("", None)
    text, note = card_markdown({"title": "x"})
    assert text == "" and note == "The checkpoint's model card is a dict, not text: not shown."
    text, note = card_markdown("a" * (MAX_CARD_CHARS + 5))
    assert len(text) == MAX_CARD_CHARS and "cut there" in note
