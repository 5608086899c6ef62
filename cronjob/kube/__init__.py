"""The cluster wing: the Kubernetes API client, the reader, the applier, the Lease and the cluster-mode tick."""
