"""Rendering the objects a canary owns besides its routes (the router's, in `engine.routers`).

meta.py      what every generated object shares: owner reference, label and annotation filtering
primary.py   the `<target>-primary` Deployment, the target's Scale, the `-primary` ConfigMap copies
hpa.py       the primary HorizontalPodAutoscaler (`autoscaling/v2`)
services.py  the apex, `-primary` and `-canary` Services
order.py     the order all of a decision's objects are applied in, as data
"""
