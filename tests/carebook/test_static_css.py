"""The palette has one source: theme.css's design tokens; the other stylesheets only use them."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

STATIC = Path(__file__).resolve().parents[2] / "carebook" / "static"
COLOUR_LITERAL = re.compile(r"#[0-9a-fA-F]{3,8}\b|\brgba?\(|\bhsla?\(")
TOKEN_USE = re.compile(r"var\(--(cb-[a-z0-9-]+)")
TOKEN_DEFINITION = re.compile(r"^\s*--(cb-[a-z0-9-]+)\s*:", re.MULTILINE)


@pytest.mark.parametrize("stylesheet", sorted(p.name for p in STATIC.glob("*.css") if p.name != "theme.css"))
def test_a_stylesheet_takes_its_colours_from_the_tokens(stylesheet):
    css = (STATIC / stylesheet).read_text()
    assert COLOUR_LITERAL.findall(css) == []


def test_every_token_used_is_defined_in_the_theme():
    defined = set(TOKEN_DEFINITION.findall((STATIC / "theme.css").read_text()))
    used = {token for sheet in STATIC.glob("*.css") for token in TOKEN_USE.findall(sheet.read_text())}
    assert used - defined == set()


def test_every_colour_of_the_type_palette_has_a_token_and_a_class():
    """Types are painted with classes (the CSP forbids inline styles): one per palette colour, same value."""
    from models.appointment_types import COLOURS

    theme = (STATIC / "theme.css").read_text()
    for value, name in COLOURS.items():
        token = f"cb-type-{name.lower()}"
        assert re.search(rf"--{token}:\s*{value}\s*;", theme), token
        assert f".type-colour-{name.lower()} {{ background-color: var(--{token}); }}" in theme
