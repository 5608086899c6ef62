"""Rendering the objects a canary owns besides its routes (the router's, in `engine.routers`) and its primary
(the target kind's, in `engine.targets`).

meta.py      what every generated object shares: owner reference, label and annotation filtering
config_copies.py  the `-primary` ConfigMap copies
hpa.py       the primary HorizontalPodAutoscaler (`autoscaling/v2`)
services.py  the apex, `-primary` and `-canary` Services
order.py     the order all of a decision's objects are applied in, as data
"""
