"""Hand-written strategies for sweep tests (importable by spawn workers as module:attr).
``EmaFlip`` is the shared one of :mod:`vibe_quant.testing.strategies`."""

from __future__ import annotations

import os

from vibe_quant.testing.strategies import EmaFlip

__all__ = ["EmaFlip", "Troubled"]


class Troubled(EmaFlip):
    """EmaFlip that raises (``fast == 13``) or kills its process (``fast == 666``)."""

    name = "troubled"

    def handle_bar(self, bar):
        if int(self.params["fast"]) == 13:
            raise RuntimeError("unlucky parameter")
        if int(self.params["fast"]) == 666:
            os._exit(3)
        super().handle_bar(bar)
