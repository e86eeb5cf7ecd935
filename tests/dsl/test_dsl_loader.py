"""The safe loader: tags, anchor bombs, size limits, junk — refused cleanly, never a traceback."""

from __future__ import annotations

import random
import re
import time
from pathlib import Path

import pytest

from vibe_quant.dsl import StrategyError, load_strategy, validate_strategy
from vibe_quant.dsl.loader import MAX_BYTES, load_yaml

BILLION_LAUGHS = """\
a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
"""


def only_error(source, **kw):
    diags = validate_strategy(source, **kw)
    assert len(diags) == 1, [str(d) for d in diags]
    assert diags[0].severity == "error"
    return diags[0]


@pytest.mark.parametrize(
    "text,tag",
    [
        ("name: !!python/object/apply:os.system ['echo hi']\n", "!!python/object/apply:os.system"),
        ("name: !!python/name:os.system\n", "!!python/name:os.system"),
        (
            "x: !!python/object:collections.OrderedDict {}\n",
            "!!python/object:collections.OrderedDict",
        ),
        ("x: !!python/tuple [1, 2]\n", "!!python/tuple"),
        ("x: [1, !!python/bytes 'aGk=']\n", "!!python/bytes"),
        ("x: !!binary aGVsbG8=\n", "!!binary"),
        ("x: !!set {a, b}\n", "!!set"),
        ("x: !custom 3\n", "!custom"),
    ],
)
def test_non_standard_tags_are_refused(text, tag):
    d = only_error(text)
    assert d.code == "yaml-tag"
    assert f"YAML tag '{tag}' is not allowed" in d.message
    assert d.line == 1 and d.column > 1


def test_python_tag_is_never_constructed(tmp_path):
    marker = tmp_path / "pwned"
    text = f"name: !!python/object/apply:os.system ['touch {marker}']\ntimeframe: 5m\n"
    with pytest.raises(StrategyError):
        load_strategy(text)
    assert not marker.exists()


def test_billion_laughs_is_refused_quickly():
    t0 = time.perf_counter()
    d = only_error(BILLION_LAUGHS)
    assert time.perf_counter() - t0 < 2.0
    assert d.code == "yaml-node-limit"
    assert "anchor/alias bomb" in d.message


def test_recursive_alias_is_refused():
    d = only_error("a: &a [*a]\n")
    assert d.code in ("yaml-depth-limit", "yaml-node-limit")


def test_too_many_aliases_is_refused():
    d = only_error("x: &x 1\nl: [" + ",".join(["*x"] * 200) + "]\n")
    assert d.code == "yaml-alias-limit" and d.line == 2


def test_a_few_aliases_are_fine():
    loaded = load_yaml("base: &b [1, 2]\nother: *b\n")
    assert loaded.data == {"base": [1, 2], "other": [1, 2]}


def test_ten_megabytes_of_random_bytes_is_refused(tmp_path):
    junk = random.Random(7).randbytes(10 * 1024 * 1024)
    path = tmp_path / "junk.yaml"
    path.write_bytes(junk)
    for source in (path, junk):
        d = only_error(source)
        assert d.code == "too-large"
        assert "limited to 1000000 bytes" in d.message
    with pytest.raises(StrategyError, match="1 MB"):
        load_strategy(path)


def test_ten_megabytes_of_text_is_refused():
    d = only_error("name: x\n" + "# junk\n" * (10 * 1024 * 1024 // 7))
    assert d.code == "too-large"


@pytest.mark.parametrize("seed", range(10))
def test_small_binary_junk_is_refused_cleanly(seed):
    d = only_error(random.Random(seed).randbytes(4000))
    assert d.code in ("not-text", "yaml-syntax", "not-mapping", "yaml-tag", "yaml")


def test_printable_junk_is_refused_cleanly():
    rng = random.Random(3)
    chars = "abc:{}[]-,&*!|>'\"%@` \n\t#?"
    for _ in range(50):
        text = "".join(rng.choice(chars) for _ in range(300))
        diags = validate_strategy(text)
        assert diags and all(d.severity in ("error", "warning") for d in diags)


def test_just_under_the_limit_is_parsed():
    text = "name: x\ndescription: '" + "y" * (MAX_BYTES - 100) + "'\n"
    loaded = load_yaml(text)
    assert loaded.data is not None and not loaded.diagnostics


@pytest.mark.parametrize(
    "text,code,message",
    [
        ("", "not-mapping", "the file is empty"),
        ("- a\n- b\n", "not-mapping", "top level is a list"),
        ("just text\n", "not-mapping", "top level is a single value"),
        ("a: 1\n---\nb: 2\n", "yaml-syntax", "expected a single document"),
        ("name: a\nname: b\n", "yaml-duplicate-key", "duplicate key 'name'"),
        ("a: &a {x: 1}\nb:\n  <<: *a\n", "yaml-merge", "merge keys"),
        ("yes: 1\n", "yaml-key", "keys must be strings"),
        ("a: " + "[" * 100 + "]" * 100 + "\n", "yaml-depth-limit", "nesting deeper"),
        ("name: a\x07b\n", "not-text", "U+0007"),
        ("name: [a, b\ntimeframe: 5m\n", "yaml-syntax", "YAML syntax error"),
    ],
)
def test_structural_refusals(text, code, message):
    d = only_error(text)
    assert d.code == code
    assert message in d.message


def test_positions_and_unquoted_times():
    loaded = load_yaml("a:\n  b: [x, 13:30]\n  c: 2024-01-01\n")
    assert loaded.data == {"a": {"b": ["x", "13:30"], "c": "2024-01-01"}}
    assert loaded.positions[("a", "b", 1)] == (2, 10)
    assert loaded.key_positions[("a", "c")] == (3, 3)


def test_missing_file_is_a_diagnostic(tmp_path):
    d = only_error(tmp_path / "nope.yaml")
    assert d.code == "io"


def test_no_eval_exec_or_python_ast_anywhere_in_vibe_quant():
    """Every module of the package, at any depth (dsl/, dsl/runtime/, the compiler, the
    backtest and the screening workers that run compiled strategies): no eval/exec/compile,
    no Python AST, no unsafe YAML loader."""
    import vibe_quant as pkg

    root = Path(pkg.__file__).parent
    files = sorted(root.rglob("*.py"))
    names = {f.relative_to(root).as_posix() for f in files}
    assert {
        "strategy/compiler.py",
        "dsl/expr.py",
        "strategy/runtime/conditions.py",
        "strategy/runtime/indicators.py",
        "research/screening/worker.py",
    } <= names
    bad = (
        r"(?<![.\w])eval\(",
        r"(?<![.\w])exec\(",
        r"(?<![.\w])compile\(",
        r"\bimport ast\b",
        r"\bfrom ast\b",
        r"yaml\.load\(",
        "unsafe_load",
        "UnsafeLoader",
        "FullLoader",
        r"yaml\.Loader\b",
    )
    hits = [
        f"{f.relative_to(root)}: {p}"
        for f in files
        for p in bad
        if re.search(p, f.read_text(encoding="utf-8"))
    ]
    assert hits == []
