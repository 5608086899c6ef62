"""cronary's imperative shell: the CLI, readers, the tick driver, the simulator and (later) the appliers."""
