from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
STRATEGIES = ROOT / "strategies"
MALFORMED = Path(__file__).resolve().parent / "malformed"
EXAMPLES = [
    "ema_cross",
    "rsi_mtf",
    "bollinger_breakout",
    "donchian_atr",
    "macd_session",
    "stoch_adx",
]

MINIMAL = """\
name: minimal
timeframe: 5m
indicators:
  fast: {type: ema, params: {period: 10}}
  slow: {type: ema, params: {period: 40}}
entry:
  long: [fast crosses_above slow]
exit:
  long: [fast crosses_below slow]
stop_loss: {type: fixed_pct, pct: 1.0}
sizing: {method: fixed_fractional, risk_pct: 1.0}
"""


@pytest.fixture
def minimal_text() -> str:
    return MINIMAL
