"""The one protocol every target kind follows, and the value it judges readiness in.

A target kind knows one workload kind (a Deployment; later a DaemonSet): where its selector and pod template
are, when it and its `-primary` copy are ready (with Flagger's messages), how the primary is rendered from it,
and how it is scaled to and from zero. Like Flagger's `pkg/canary` `Controller` interface (`IsPrimaryReady`,
`IsCanaryReady`, `Initialize`, `Promote`, `ScaleToZero`, `ScaleFromZero`), but pure: it reads the objects a
tick observed and renders what the shell applies. It names the kinds it reads and writes, `(apiVersion, kind)`,
so the shell's resource registry (`cronjob/shared/resources.py`) can be checked to list and apply them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from ..model import Canary
from ..routers.router import Kind


@dataclass(frozen=True)
class Readiness:
    """Is a workload ready; if not, may the tick wait for it (`retriable`), and why not (Flagger's words)."""

    ready: bool
    retriable: bool = True
    reason: str = ""


READY = Readiness(True)


class TargetKind(Protocol):
    """One kind of workload a canary may target. A target kind is a shared, stateless value."""

    kind: str  # the `spec.targetRef.kind` it serves, and the kind of its `-primary` copy
    kinds: tuple[Kind, ...]  # the `(apiVersion, kind)` of every object it reads and writes

    # What a primary that does not exist yet reads as: judged for readiness before it is first created.
    new_primary: Mapping[str, Any]

    def selector(self, workload: Mapping[str, Any]) -> Mapping[str, Any]:
        """The workload's selector labels (`matchLabels`): the tick takes its selector label from them."""
        ...

    def pod_template(self, workload: Mapping[str, Any]) -> Mapping[str, Any]:
        """The workload's pod template (`metadata` and `spec`): revision hash, configs, ports, the primary's copy."""
        ...

    def readiness(
        self, workload: Mapping[str, Any], *, ready_threshold: int, progress_deadline_seconds: int, now: datetime
    ) -> Readiness:
        """Flagger's readiness of the target or the primary, with Flagger's messages."""
        ...

    def runs_no_pods(self, workload: Mapping[str, Any]) -> bool:
        """Is the workload scaled to zero (Flagger's `ScaleToZero` done)?"""
        ...

    def scale_from_zero(
        self,
        canary: Canary,
        workload: Mapping[str, Any],
        primary: Mapping[str, Any] | None,
        autoscaler: Mapping[str, Any] | None,
    ) -> int:
        """The size Flagger's `ScaleFromZero` gives the target: its own, else the primary's or the autoscaler's."""
        ...

    def render_primary(
        self,
        canary: Canary,
        workload: Mapping[str, Any],
        existing: Mapping[str, Any] | None,
        *,
        label: str,
        value: str,
        template: Mapping[str, Any] | None,
        include_label_prefixes: tuple[str, ...],
        owner: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The desired `<target>-primary`: a fresh pod `template` when it is created or promoted, else None
        (the primary keeps what it runs)."""
        ...

    def render_scale(self, namespace: str, name: str, replicas: int) -> dict[str, Any]:
        """The request that scales the target to `replicas` (0: to zero), as the shell applies it."""
        ...
