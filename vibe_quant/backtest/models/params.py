"""Constants of the validation stage, importable without NautilusTrader (CLI help, docs).

Units: latencies in nanoseconds; fees as fractions of notional; ``k`` dimensionless; spread in
ticks; window in bars. Sources and meaning: :mod:`.fees`, :mod:`.latency`, :mod:`.fill`.
"""

from __future__ import annotations

from decimal import Decimal

NS_PER_MS = 1_000_000

#: latency preset -> one-way latency in ns (None = no latency model, as screening)
LATENCY_PRESETS: dict[str, int | None] = {
    "colocated": 1 * NS_PER_MS,
    "domestic": 20 * NS_PER_MS,
    "international": 100 * NS_PER_MS,
    "retail": 200 * NS_PER_MS,
    "none": None,
}
DEFAULT_LATENCY = "retail"

#: Binance USDⓈ-M VIP tier -> (maker, taker), fractions of notional (table and source: .fees)
VIP_FEES: dict[int, tuple[Decimal, Decimal]] = {
    0: (Decimal("0.000200"), Decimal("0.000500")),
    1: (Decimal("0.000160"), Decimal("0.000400")),
    2: (Decimal("0.000140"), Decimal("0.000350")),
    3: (Decimal("0.000120"), Decimal("0.000320")),
    4: (Decimal("0.000100"), Decimal("0.000300")),
    5: (Decimal("0.000080"), Decimal("0.000270")),
    6: (Decimal("0.000060"), Decimal("0.000250")),
    7: (Decimal("0.000040"), Decimal("0.000220")),
    8: (Decimal("0.000020"), Decimal("0.000200")),
    9: (Decimal("0.000000"), Decimal("0.000170")),
}
DEFAULT_TIER = 0

#: square-root impact prefactor Y (dimensionless): of order one in the literature — Almgren,
#: Thum, Hauptmann & Li 2005 "Direct estimation of equity market impact"; Tóth et al. 2011
#: "Anomalous price impact and the critical nature of liquidity"; Bouchaud, Bonart, Donier &
#: Gould 2018 "Trades, Quotes and Prices" ch. 12 (Y ≈ 0.5–1). Validation also reports 0.5× and 2×.
DEFAULT_K = 1.0
DEFAULT_SPREAD_TICKS = 1.0
DEFAULT_WINDOW = 20
DEFAULT_TOP = 5
