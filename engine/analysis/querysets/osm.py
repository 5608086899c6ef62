"""Open Service Mesh's query set: Flagger v1.44.0 `pkg/metrics/observers/osm.go`, and the same grouped for a fleet.

OSM selects the workload with `destination_name="TARGET"` (an exact match), so every canary can be aggregated.

The per-canary texts are verbatim from the Go source (indentation as written there; it is collapsed before
sending), so they are kept byte for byte, tabs and trailing blanks included.
"""

from __future__ import annotations

from ...model import BUILTIN_DURATION, BUILTIN_SUCCESS_RATE
from .base import QuerySet

QUERY_SET = QuerySet(
    name="osm",
    builtin={
        BUILTIN_SUCCESS_RATE: """
    sum(
        rate(
            osm_request_total{
				destination_namespace="{{ namespace }}",
				destination_kind="Deployment",
				destination_name="{{ target }}",
				response_code!~"5.*"
            }[{{ interval }}]
        )
    )
    /
    sum(
        rate(
            osm_request_total{
				destination_namespace="{{ namespace }}",
				destination_kind="Deployment",
				destination_name="{{ target }}"
            }[{{ interval }}]
        )
    )
	* 100""",
        BUILTIN_DURATION: """
	histogram_quantile(
		0.99,
		sum(
		  rate(
			osm_request_duration_ms_bucket{
				destination_namespace="{{ namespace }}",
				destination_kind="Deployment",
				destination_name="{{ target }}"
			}[{{ interval }}]
		  )
		) by (le)
	)""",
    },
    aggregated={
        BUILTIN_SUCCESS_RATE: """
	sum by (destination_namespace, destination_name) (
		rate(osm_request_total{destination_kind="Deployment",response_code!~"5.*"}[{{ interval }}])
	)
	/
	sum by (destination_namespace, destination_name) (
		rate(osm_request_total{destination_kind="Deployment"}[{{ interval }}])
	)
	* 100""",
        BUILTIN_DURATION: """
	histogram_quantile(
		0.99,
		sum by (le, destination_namespace, destination_name) (
			rate(osm_request_duration_ms_bucket{destination_kind="Deployment"}[{{ interval }}])
		)
	)""",
    },
    aggregation_labels=("destination_namespace", "destination_name"),
    workload_match_is_regex=False,
)
