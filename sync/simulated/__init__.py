"""The synthetic A-share market and the Tushare-compatible server that serves it.

Part of the product (the embedded default source) and the backend of every test, kept out of
the pipeline's reading path: the pipeline only ever talks to it over the Tushare protocol.
"""

from sync.simulated.synthetic import (
    APIS,
    DEMO_START,
    DEMO_STOCKS,
    SERIES_APIS,
    MarketSpec,
    SyntheticMarket,
    demo_market,
)

__all__ = ["APIS", "DEMO_START", "DEMO_STOCKS", "SERIES_APIS", "MarketSpec", "SyntheticMarket", "demo_market"]
