"""docs/dsl.md covers every indicator, top-level field and error kind it promises."""

from __future__ import annotations

from vibe_quant.dsl.grammar import __doc__ as grammar_doc
from vibe_quant.dsl.models import StrategySpec
from vibe_quant.dsl.registry import INDICATORS

from .conftest import ROOT

DOC = (ROOT / "docs" / "dsl.md").read_text()


def test_every_indicator_is_documented_with_its_params_and_outputs():
    for d in INDICATORS.values():
        assert f"#### `{d.type}`" in DOC
        for p in d.params:
            assert f"| `{p.name}` | {p.kind} | {p.default} |" in DOC
        for o in d.outputs:
            assert f"`{o.name}`" in DOC


def test_every_top_level_field_is_documented():
    for name in StrategySpec.model_fields:
        assert f"| `{name}` |" in DOC


def test_ebnf_matches_the_parser_docstring():
    for rule in ("or_cond    = and_cond", "predicate  = expr", "series     = ident",
                 "term       = unary"):
        assert rule in DOC and rule in grammar_doc
