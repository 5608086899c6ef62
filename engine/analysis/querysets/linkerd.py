"""Linkerd's query set: Flagger v1.44.0 `pkg/metrics/observers/linkerd.go`, and the same grouped for a fleet.

The success rate selects `classification!="failure"`: the 0.14–0.16 bug (`="failure"`, the failure percentage
under the success-rate name) is fixed, as in Flagger >= 0.17.0.

The per-canary texts are verbatim from the Go source (indentation as written there; it is collapsed before
sending), so they are kept byte for byte, tabs and trailing blanks included.
"""

from __future__ import annotations

from ...model import BUILTIN_DURATION, BUILTIN_SUCCESS_RATE
from .base import QuerySet

QUERY_SET = QuerySet(
    name="linkerd",
    builtin={
        BUILTIN_SUCCESS_RATE: """
	sum(
		rate(
			response_total{
				namespace="{{ namespace }}",
				deployment=~"{{ target }}",
				classification!="failure",
				direction="inbound"
			}[{{ interval }}]
		)
	) 
	/ 
	sum(
		rate(
			response_total{
				namespace="{{ namespace }}",
				deployment=~"{{ target }}",
				direction="inbound"
			}[{{ interval }}]
		)
	) 
	* 100""",
        BUILTIN_DURATION: """
	histogram_quantile(
		0.99,
		sum(
			rate(
				response_latency_ms_bucket{
					namespace="{{ namespace }}",
					deployment=~"{{ target }}",
					direction="inbound"
				}[{{ interval }}]
			)
		) by (le)
	)""",
    },
    aggregated={
        BUILTIN_SUCCESS_RATE: """
	sum by (namespace, deployment) (
		rate(response_total{classification!="failure",direction="inbound"}[{{ interval }}])
	)
	/
	sum by (namespace, deployment) (
		rate(response_total{direction="inbound"}[{{ interval }}])
	)
	* 100""",
        BUILTIN_DURATION: """
	histogram_quantile(
		0.99,
		sum by (le, namespace, deployment) (
			rate(response_latency_ms_bucket{direction="inbound"}[{{ interval }}])
		)
	)""",
    },
    aggregation_labels=("namespace", "deployment"),
    workload_match_is_regex=True,
)
