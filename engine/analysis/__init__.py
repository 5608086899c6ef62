"""Canary analysis: from a metric to a rendered query, and from its result to a verdict.

One module per job, layered (import-linter checks it; nothing imports upwards, so there is no cycle):
`render` turns a metric request into the query to run (and `provider_check` the servers to probe);
`judge` holds a result against its threshold with Flagger's messages. Below them, `fleet` aggregates
a built-in metric over a fleet and `templates` parses MetricTemplates; below those, `querysets` holds
Flagger's PromQL per mesh (one module each) and `template` the query template language; `promql` at the
bottom checks what may reach a query.

The shell imports the names below from here; the engine's own modules import them from their homes.
"""

from .fleet import AggregateKey, split_aggregated_result
from .judge import NO_VALUES, MetricResult, MetricVerdict
from .render import ProviderCheck, ProviderProbe, RenderedQuery, Templates
from .templates import MetricTemplateSpec, parse_metric_template

__all__ = [
    "NO_VALUES",
    "AggregateKey",
    "MetricResult",
    "MetricTemplateSpec",
    "MetricVerdict",
    "ProviderCheck",
    "ProviderProbe",
    "RenderedQuery",
    "Templates",
    "parse_metric_template",
    "split_aggregated_result",
]
