"""What the tests share: the API emulator, the real-Prometheus harness, seed clusters, git repos, goldens."""
