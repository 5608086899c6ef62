"""Git hosts' APIs for the pull-request mode: one module per host, chosen by name in `registry`."""
