"""Settings: sizing and risk presets (create, edit, version — the same parse and store as
``vibe-quant risk preset add``), Telegram settings (from the environment; the token is never
shown), system information."""

from __future__ import annotations

import json

import streamlit as st

from vibe_quant.dashboard import core, ui
from vibe_quant.services import dashboard as q

EXAMPLE = """description: half-percent ATR risk, 10 % drawdown halt
sizing:
  method: atr
  risk_pct: 0.5
  multiple: 2.0
  leverage: 2
  max_notional_multiple: 2
breakers:
  max_drawdown: 0.10
  daily_loss: 0.03
"""

t0 = ui.start()
st.title("Settings")
dd = core.data_dir()

st.subheader("Sizing and risk presets")
with core.state_ro(dd) as conn:
    presets = q.presets(conn) if conn else []
    counts = q.table_counts(conn) if conn else {}
    schema = q.schema_version(conn) if conn else None
    NEW = "(new preset)"
    choice = st.selectbox("Preset", [p["name"] for p in presets] + [NEW], key="preset_pick")
    versions = q.preset_versions(conn, choice) if conn and choice != NEW else []
ui.table(
    [
        {
            "name": p["name"],
            "version": p["version"],
            "sizing": (p["body"].get("sizing") or {}).get("method", "-"),
            "breakers": ", ".join(sorted((p["body"].get("breakers") or {}).keys())) or "-",
            "description": p["body"].get("description", ""),
            "created_at": p["created_at"],
        }
        for p in presets
    ],
    key="presets_table",
)
if versions:
    ui.table(
        [
            {
                "version": v["version"],
                "created_at": v["created_at"],
                "body": json.dumps(v["body"], sort_keys=True),
            }
            for v in versions
        ],
        key="preset_versions",
    )
    if len(versions) > 1:
        a, b = versions[1], versions[0]
        st.code(
            core.unified_diff(
                a["source"] or "", b["source"] or "", f"v{a['version']}", f"v{b['version']}"
            )
            or "(identical)",
            language="diff",
        )
name = st.text_input("Name", value="" if choice == NEW else choice, key=f"preset_name:{choice}")
text = st.text_area(
    "Preset YAML (sizing: percents; breakers: fractions — SPEC §9)",
    value=(versions[0]["source"] or "") if versions else EXAMPLE,
    height=260,
    key=f"preset_yaml:{choice}",
)
if st.button("Save preset (new version when changed)", key="preset_save", type="primary"):
    try:
        res = core.save_preset(name, text, dd)
        st.success(
            f"preset {res['name']} v{res['version']} {'added' if res['created'] else 'unchanged'}"
        )
    except core.DashboardError as e:
        st.error(str(e))

st.subheader("Telegram alerts")
st.caption(
    "Read from the environment of the dashboard process; set them before starting "
    "`vibe-quant dashboard`. The token is never shown."
)
ui.table(
    [{"variable": k, "value": v} for k, v in core.telegram_status().items()], key="telegram_table"
)

st.subheader("System")
info = core.system_info(dd)
ui.table([{"item": k, "value": v} for k, v in info["versions"].items()], key="versions_table")
ui.table(
    [
        {"item": "data dir", "value": info["data_dir"]},
        {"item": "strategies folder", "value": info["strategies_dir"]},
        {"item": "CPU count", "value": str(info["cpu_count"])},
        {"item": "free disk (GB)", "value": f"{info['disk_free_bytes'] / 1e9:.1f}"},
        *[
            {"item": f"disk use: {k} (MB)", "value": f"{v / 1e6:.1f}"}
            for k, v in info["disk_use_bytes"].items()
        ],
        {"item": "state schema version", "value": str(schema)},
    ],
    key="system_table",
)
ui.table([{"table": k, "rows": v} for k, v in counts.items()], key="table_counts")
ui.footer("Settings", t0)
