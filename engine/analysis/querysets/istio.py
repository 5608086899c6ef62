"""Istio's query set: Flagger v1.44.0 `pkg/metrics/observers/istio.go`, and the same grouped for a fleet.

The per-canary texts are verbatim from the Go source (indentation as written there; it is collapsed before
sending), so they are kept byte for byte, tabs and trailing blanks included.
"""

from __future__ import annotations

from ...model import BUILTIN_DURATION, BUILTIN_SUCCESS_RATE
from .base import QuerySet

QUERY_SET = QuerySet(
    name="istio",
    builtin={
        BUILTIN_SUCCESS_RATE: """
	sum(
		rate(
			istio_requests_total{
				reporter="destination",
				destination_workload_namespace="{{ namespace }}",
				destination_workload=~"{{ target }}",
				response_code!~"5.*"
			}[{{ interval }}]
		)
	) 
	/ 
	sum(
		rate(
			istio_requests_total{
				reporter="destination",
				destination_workload_namespace="{{ namespace }}",
				destination_workload=~"{{ target }}"
			}[{{ interval }}]
		)
	) 
	* 100""",
        BUILTIN_DURATION: """
	histogram_quantile(
		0.99,
		sum(
			rate(
				istio_request_duration_milliseconds_bucket{
					reporter="destination",
					destination_workload_namespace="{{ namespace }}",
					destination_workload=~"{{ target }}"
				}[{{ interval }}]
			)
		) by (le)
	)""",
    },
    aggregated={
        BUILTIN_SUCCESS_RATE: """
	sum by (destination_workload_namespace, destination_workload) (
		rate(istio_requests_total{reporter="destination",response_code!~"5.*"}[{{ interval }}])
	)
	/
	sum by (destination_workload_namespace, destination_workload) (
		rate(istio_requests_total{reporter="destination"}[{{ interval }}])
	)
	* 100""",
        BUILTIN_DURATION: """
	histogram_quantile(
		0.99,
		sum by (le, destination_workload_namespace, destination_workload) (
			rate(istio_request_duration_milliseconds_bucket{reporter="destination"}[{{ interval }}])
		)
	)""",
    },
    aggregation_labels=("destination_workload_namespace", "destination_workload"),
    workload_match_is_regex=True,
    seconds_histogram=("istio_request_duration_milliseconds_bucket", "istio_request_duration_seconds_bucket"),
)
