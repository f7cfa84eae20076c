"""docs/ODD.md carries the registry's parameter table unchanged, and every parameter is documented."""

from pathlib import Path

import pytest

from sim.params import REGISTRY
from sim.reporting.docs import TABLE_BEGIN, TABLE_END, parameter_table

ODD = Path(__file__).parent.parent / "docs" / "ODD.md"


def test_odd_parameter_table_matches_registry():
    text = ODD.read_text(encoding="utf-8")
    assert text.count(TABLE_BEGIN) == 1 and text.count(TABLE_END) == 1, "ODD.md needs one pair of table markers"
    start, end = text.index(TABLE_BEGIN), text.index(TABLE_END) + len(TABLE_END)
    assert text[start:end] == parameter_table(), (
        "the parameter table in docs/ODD.md is out of date with sim/registry.toml; run `make docs`"
    )


@pytest.mark.parametrize("name", list(REGISTRY))
def test_parameter_has_source_and_doc(name):
    p = REGISTRY[name]
    source = p.source.strip()
    assert source, f"{name}: empty source"
    assert "[0" in source or source.startswith("assumption"), (
        f"{name}: source must cite a document like [001 L180] or start with 'assumption': {source!r}"
    )
    assert p.doc.strip(), f"{name}: empty doc"
