"""The local wing: scenario inputs and the simulation behind `simulate` (no cluster, no git)."""
