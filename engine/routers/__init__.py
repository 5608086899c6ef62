"""Routers: the objects that decide where a canary's traffic goes, one module per router behind one protocol.

    router.py    the protocol (`Router`: `kinds`, `render`, `read_routes`) and its values (`Routes`, `Kind`)
    smi.py       the SMI TrafficSplit (v1alpha1, v1alpha2, v1alpha3)
    factory.py   provider name -> `Provider(name, router, metrics)`; `ROUTERS`, the one list of router modules

The tick asks the canary's router for its routes and renders them through it; it names no router's kinds.
"""
