"""Target kinds: the workloads a canary may point at (`spec.targetRef.kind`), one module per kind behind one protocol.

    target.py        the protocol (`TargetKind`: what the tick needs of a kind) and its value `Readiness`
    deployment.py    the `apps/v1` Deployment (Flagger's `deployment_controller.go`)
    pod_template.py  what every kind with a pod template shares: the primary's template, copied from the target
    facts.py         `read_target_facts`: what a tick reads off its target once, through its kind
    factory.py       `targetRef.kind` -> its `TargetKind`; `TARGETS`, the one registry of kinds

The tick asks the canary's target kind for the workload's selector and pod template, its readiness, the
primary and the scale request; it names no kind's fields. A new kind is one module here and one line in
`TARGETS` (and the shell's resource registry line for its objects).
"""
