"""Deployment strategies: how an analysis moves a canary towards promotion, one module per strategy behind
one protocol.

    strategy.py  the protocol (`Strategy`: `counts`, `asks_traffic_increase`, `analysis_complete`,
                 `next_step`, `waiting_weight`, `promotion_step`, `traffic_routing`) and its values
                 (`Step`, `Counts`)
    canary.py    weight stepping (`stepWeight`, `stepWeights`, `maxWeight`, `stepWeightPromotion`)
    factory.py   `AnalysisSpec.strategy` -> the strategy that runs it; `STRATEGIES`, the one list of modules

The tick asks the canary's strategy where it used to step weights itself; it names no strategy's fields.
"""
