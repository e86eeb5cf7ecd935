"""vibe-quant: a research pipeline for crypto perpetual-futures strategies.

Data flows one way: data → dsl → backtest → screening → overfitting → validation → paper.
"""

__version__ = "0.1.0"
