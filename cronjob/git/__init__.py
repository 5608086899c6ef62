"""The GitOps wing: the repository, its layout, the GitOps tick and the history read back from commits."""
