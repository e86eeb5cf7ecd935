"""Strategies: list, create and edit strategy YAML with live validation (line:column from the
DSL's validator), parameters, sweep grid size, and version history with diffs."""

from __future__ import annotations

import streamlit as st

from vibe_quant.dashboard import core, ui
from vibe_quant.services import dashboard as q

t0 = ui.start()
st.title("Strategies")
folder = core.strategies_dir()
files = core.list_strategy_files(folder)

with core.state_ro() as conn:
    stored = {r["name"]: r for r in (q.strategy_names(conn) if conn else [])}

rows = []
for p in files:
    text = p.read_text(errors="replace")
    diags = core.validate_text(text, file=p.name)
    errs = [d for d in diags if d.severity == "error"]
    summ = core.strategy_summary(text) if not errs else None
    name = summ["name"] if summ else p.stem
    rows.append(
        {
            "file": p.name,
            "name": name,
            "valid": not errs,
            "errors": len(errs),
            "warnings": len(diags) - len(errs),
            "timeframe": summ["timeframe"] if summ else None,
            "grid size": summ["grid_size"] if summ else None,
            "stored versions": stored.get(name, {}).get("versions", 0),
        }
    )
st.subheader(f"{len(files)} strategy file(s) in `{folder}`")
ui.table(rows, key="strategies_table")

NEW = "(new strategy)"
choice = st.selectbox("Edit", [p.name for p in files] + [NEW], key="strategy_file")
if choice == NEW:
    original, default_name = "", ""
else:
    original = (folder / choice).read_text(errors="replace")
    default_name = choice.rsplit(".", 1)[0]

name = st.text_input(
    "File name (saved as <name>.yaml inside the strategies folder)",
    value=default_name,
    key=f"strategy_name:{choice}",
)
text = st.text_area(
    "Strategy YAML (validated on every change)",
    value=original,
    height=420,
    key=f"strategy_yaml:{choice}",
)

diags = core.validate_text(text, file=(name or "new") + ".yaml") if text.strip() else []
errors = [d for d in diags if d.severity == "error"]
if not text.strip():
    st.info("Write or paste a strategy (language reference: docs/dsl.md).")
elif errors:
    st.error(f"{len(errors)} error(s) — not runnable until fixed")
else:
    st.success(f"valid ({len(diags)} warning(s))")
if diags:
    ui.table(
        [
            {
                "line": d.line,
                "column": d.column,
                "severity": d.severity,
                "field": d.path,
                "message": d.message,
                "expected": d.expected or "",
            }
            for d in diags
        ],
        key="strategy_diagnostics",
    )

summary = core.strategy_summary(text) if text.strip() and not errors else None
if summary:
    c1, c2 = st.columns(2)
    with c1:
        st.markdown("**Parameters (current values)**")
        ui.table(
            [{"parameter": k, "value": str(v)} for k, v in summary["params"].items()],
            key="strategy_params",
        )
    with c2:
        st.markdown(f"**Sweep grid: {summary['grid_size']} combination(s)**")
        ui.table(
            [
                {"key": k, "values": ", ".join(map(str, v)), "count": len(v)}
                for k, v in summary["sweep"].items()
            ],
            key="strategy_sweep",
        )

if st.button("Save", key="strategy_save", type="primary", disabled=not text.strip()):
    try:
        res = core.save_strategy(name, text)
        st.success(f"saved {res['path']} — stored as {res['name']} v{res['version']}")
    except core.DashboardError as e:
        st.error(str(e))

st.subheader("Version history")
sname = summary["name"] if summary else (name or None)
with core.state_ro() as conn:
    versions = q.strategy_versions(conn, sname) if conn and sname else []
if not versions:
    st.info(
        f"No stored version of {sname!r} yet: saving here (or running `vibe-quant "
        "backtest` on the file) stores one."
    )
else:
    ui.table(
        [
            {"version": v["version"], "created_at": v["created_at"], "sha256": v["hash"][:12]}
            for v in versions
        ],
        key="strategy_versions",
    )
    labels = {f"v{v['version']}": v for v in versions}
    opts = list(labels) + ["editor"]
    c1, c2 = st.columns(2)
    a = c1.selectbox("Diff from", opts, index=min(1, len(opts) - 1), key="diff_from")
    b = c2.selectbox("to", opts, index=0, key="diff_to")

    def _text(label: str) -> str:
        return text if label == "editor" else labels[label]["yaml"]

    diff = core.unified_diff(_text(a), _text(b), a, b)
    st.code(diff or "(identical)", language="diff")
ui.footer("Strategies", t0)
