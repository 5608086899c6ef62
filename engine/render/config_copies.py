"""The `-primary` ConfigMap copies of a canary's tracked ConfigMaps."""

from __future__ import annotations

from typing import Any

from ..configs import TrackedConfigs
from ..model import Canary
from .meta import include_by_prefix, object_meta


def render_config_copies(
    canary: Canary, tracked: TrackedConfigs, include_label_prefixes: tuple[str, ...]
) -> list[dict[str, Any]]:
    """`<name>-primary` copies of tracked ConfigMaps. Secret copies are an intent the shell performs (no data here)."""
    copies = []
    for cm in tracked.configmaps:
        meta = cm.get("metadata") or {}
        obj: dict[str, Any] = {
            "apiVersion": "v1",
            "kind": "ConfigMap",
            "metadata": object_meta(
                canary, f"{meta.get('name')}-primary", include_by_prefix(meta.get("labels"), include_label_prefixes)
            ),
        }
        if cm.get("data"):
            obj["data"] = dict(cm["data"])
        copies.append(obj)
    return copies
