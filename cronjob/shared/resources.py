"""Every Kubernetes resource cronary reads or writes, once, keyed by `(apiVersion, kind)`.

The one kind list of the shell, with what each consumer needs to know about a kind, so that a new kind (a
router's, say) is one line here and nothing else: the cluster reader lists the kinds a canary needs in the
order of this table, the applier finds an object's REST path here (`resource_of`), GitOps mode takes from the
repository the kinds marked `in_repository`, and the RBAC tests check the install grants exactly the listed and
applied kinds. The engine names the kinds its routers own as `(apiVersion, kind)`; this maps them to the API.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from engine.routers.router import Kind  # (apiVersion, kind)


@dataclass(frozen=True)
class Resource:
    """One API resource: where its objects live, how they are addressed, and what cronary does with them."""

    group: str
    version: str
    plural: str
    kind: str
    namespaced: bool = True
    listed: bool = True  # read with one LIST per namespace (never a GET per object)
    applied: bool = False  # generated objects of this kind are server-side applied by cronary
    in_repository: bool = False  # GitOps mode (`--no-cluster`) takes objects of this kind from the repository
    referenced: bool = False  # canaries of other namespaces name its objects: a LIST of it serves the whole pass

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def key(self) -> Kind:
        return (self.api_version, self.kind)

    def path(self, namespace: str | None = None, name: str | None = None, subresource: str | None = None) -> str:
        base = f"/apis/{self.group}/{self.version}" if self.group else f"/api/{self.version}"
        parts = [base]
        if self.namespaced and namespace is not None:
            parts.append(f"namespaces/{quote(namespace, safe='')}")
        parts.append(self.plural)
        if name is not None:
            parts.append(quote(name, safe=""))
        if subresource is not None:
            parts.append(subresource)
        return "/".join(parts)


CANARIES = Resource("flagger.app", "v1beta1", "canaries", "Canary")
DEPLOYMENTS = Resource("apps", "v1", "deployments", "Deployment", applied=True, in_repository=True)
HPAS = Resource(
    "autoscaling", "v2", "horizontalpodautoscalers", "HorizontalPodAutoscaler", applied=True, in_repository=True
)
SERVICES = Resource("", "v1", "services", "Service", applied=True, in_repository=True)
CONFIGMAPS = Resource("", "v1", "configmaps", "ConfigMap", applied=True, in_repository=True)
SECRETS = Resource("", "v1", "secrets", "Secret", applied=True)  # never from a repository: no Secret data in git
METRIC_TEMPLATES = Resource(
    "flagger.app", "v1beta1", "metrictemplates", "MetricTemplate", in_repository=True, referenced=True
)
ALERT_PROVIDERS = Resource(
    "flagger.app", "v1beta1", "alertproviders", "AlertProvider", in_repository=True, referenced=True
)
EVENTS = Resource("", "v1", "events", "Event", listed=False)  # created on the Canary, never read
LEASES = Resource("coordination.k8s.io", "v1", "leases", "Lease", listed=False)  # the shard's, read by name

# The table. A namespace's kinds are listed in this order: the routers' kinds last, after what they route to.
RESOURCES: Mapping[Kind, Resource] = {
    r.key: r
    for r in (
        CANARIES,
        DEPLOYMENTS,
        HPAS,
        SERVICES,
        CONFIGMAPS,
        SECRETS,
        METRIC_TEMPLATES,
        ALERT_PROVIDERS,
        EVENTS,
        LEASES,
        # engine/routers/smi.py
        Resource("split.smi-spec.io", "v1alpha1", "trafficsplits", "TrafficSplit", applied=True, in_repository=True),
        Resource("split.smi-spec.io", "v1alpha2", "trafficsplits", "TrafficSplit", applied=True, in_repository=True),
        Resource("split.smi-spec.io", "v1alpha3", "trafficsplits", "TrafficSplit", applied=True, in_repository=True),
    )
}
LIST_ORDER: Mapping[Resource, int] = {r: i for i, r in enumerate(RESOURCES.values())}


def resources(kinds: Iterable[Kind]) -> list[Resource]:
    """The resources of `kinds` (a router's, say); a kind the table lacks is a KeyError naming it."""
    return [RESOURCES[kind] for kind in kinds]


def resource_of(manifest: Mapping[str, Any]) -> Resource:
    """The resource an object the engine rendered belongs to, by its `apiVersion` and `kind`."""
    kind, api_version = str(manifest.get("kind")), str(manifest.get("apiVersion"))
    resource = RESOURCES.get((api_version, kind))
    if resource is None or not resource.applied:
        raise ValueError(f"cronary does not write {api_version} {kind}")
    return resource
