"""What every wing shares: errors, options, the tick driver, the YAML reader, HTTP edges (Prometheus, webhooks, alerts)."""
