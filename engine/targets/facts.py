"""Target facts: what a tick reads off its target once, through the target's kind — the selector label and value,
the tracked ConfigMaps and Secrets, the revision hash of the pod template — so the re-runs of the sans-I/O
protocol (and a shell deciding a fleet) do not derive them again. The selector labels searched by default are
`DEFAULT_SELECTOR_LABELS`, kept in `engine.protocol` with `Settings`, whose default they are."""

from __future__ import annotations

from ..cluster import ClusterView
from ..configs import NO_CONFIGS, ConfigError, track_configs
from ..errors import SpecError
from ..hashing import pod_template_hash
from ..model import Canary, build_frozen
from ..protocol import Settings, TargetFacts
from .factory import target_kind


def read_target_facts(canary: Canary, cluster: ClusterView, settings: Settings = Settings()) -> TargetFacts:
    ns, ref = canary.namespace, canary.spec.target_ref
    try:
        kind = target_kind(ref.kind)
    except SpecError as err:  # a Canary built by hand: a parsed one names a known kind
        return TargetFacts(canary, cluster, settings, problem=str(err))
    target = cluster.get(kind.kind, ns, ref.name)
    if target is None:
        return TargetFacts(canary, cluster, settings, problem=f"{kind.kind} {ref.name}.{ns} not found")
    match_labels = kind.selector(target)
    label = None
    for name in settings.selector_labels:
        if name in match_labels:
            label = name
            break
    if label is None:
        listed = " ".join(settings.selector_labels)
        return TargetFacts(
            canary,
            cluster,
            settings,
            problem=f"{kind.kind.lower()} {ref.name}.{ns} spec.selector.matchLabels must contain one of [{listed}]",
        )
    template = kind.pod_template(target)
    tracked = NO_CONFIGS
    if settings.config_tracking:
        try:
            tracked = track_configs(template.get("spec") or {}, ns, cluster)
        except ConfigError as err:
            return TargetFacts(canary, cluster, settings, problem=str(err))
    return build_frozen(
        TargetFacts,
        {
            "canary": canary,
            "cluster": cluster,
            "settings": settings,
            "target": target,
            "label": label,
            "value": str(match_labels[label]),
            "tracked": tracked,
            "hash": pod_template_hash(template),
            "problem": "",
        },
    )
