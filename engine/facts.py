"""Target facts: what a tick reads off its target Deployment once — the selector label and value, the tracked
ConfigMaps and Secrets, the revision hash — so the re-runs of the sans-I/O protocol (and a shell deciding a
fleet) do not derive them again. The selector labels searched by default are `DEFAULT_SELECTOR_LABELS`, kept in
`engine.protocol` with `Settings`, whose default they are."""

from __future__ import annotations

from .cluster import ClusterView
from .configs import NO_CONFIGS, ConfigError, track_configs
from .hashing import pod_template_hash
from .model import Canary, build_frozen
from .protocol import Settings, TargetFacts


def read_target_facts(canary: Canary, cluster: ClusterView, settings: Settings = Settings()) -> TargetFacts:
    ns, ref = canary.namespace, canary.spec.target_ref
    target = cluster.get("Deployment", ns, ref.name)
    if target is None:
        return TargetFacts(canary, cluster, settings, problem=f"Deployment {ref.name}.{ns} not found")
    spec = target.get("spec") or {}
    match_labels = (spec.get("selector") or {}).get("matchLabels") or {}
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
            problem=f"deployment {ref.name}.{ns} spec.selector.matchLabels must contain one of [{listed}]",
        )
    template = spec.get("template") or {}
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
