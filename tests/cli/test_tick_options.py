"""`cronary tick`'s options tree (`cronjob.shared.options.TickOptions`), built from its flags by
`cronjob.flags.tick_options`: each flag lands in exactly one field of the tree, and every flag is checked."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from typing import Any

import pytest

from cronjob.cli import main
from cronjob.flags import tick_options
from cronjob.shared.errors import InputError
from cronjob.shared.options import (
    GitOptions,
    KubeOptions,
    LeaseOptions,
    NotifyOptions,
    PrometheusOptions,
    Shard,
    TickOptions,
)
from engine import Settings
from harness.paths import FIXTURES

KEY_FILE = FIXTURES / "objects" / "checksum-key"  # a test key, 32 bytes
_BRANCHES = (TickOptions, Shard, Settings, LeaseOptions, NotifyOptions, PrometheusOptions, KubeOptions, GitOptions)
CLUSTER = ("--lease-namespace", "cronary")
GIT = ("--no-lease", "--git-repo", "https://git.example.com/team/deploy.git")
SLACK = ("https://hooks.slack.com/services/T000/B000/XXXX",)

# flag -> (the other flags it needs, its arguments, the one field of the tree it sets)
FLAGS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "--once": (CLUSTER, ("--once",), "once"),
    "--budget": (CLUSTER, ("--budget", "30s"), "budget_seconds"),
    "--namespace": (CLUSTER, ("--namespace", "team-a"), "shard.namespaces"),
    "--selector": (CLUSTER, ("--selector", "tier!=batch"), "shard.selector"),
    "--shard": (CLUSTER, ("--shard", "blue"), "shard.name"),
    "--lease-namespace": (CLUSTER, ("--lease-namespace", "elsewhere"), "lease.namespace"),
    "--no-lease": (CLUSTER, ("--no-lease",), "lease.namespace"),
    "--kubeconfig": (CLUSTER, ("--kubeconfig", "/etc/kubeconfig"), "kube.kubeconfig"),
    "--service-account-dir": (CLUSTER, ("--service-account-dir", "/sa"), "kube.service_account_dir"),
    "--now": (CLUSTER, ("--now", "2026-11-27T10:00:00Z"), "now"),
    "--mesh-provider": (CLUSTER, ("--mesh-provider", "smi:istio"), "settings.mesh_provider"),
    "--prometheus": (CLUSTER, ("--prometheus", "http://metrics:9090"), "prometheus.url"),
    "--istio-seconds": (CLUSTER, ("--istio-seconds",), "settings.istio_seconds"),
    "--no-config-tracking": (CLUSTER, ("--no-config-tracking",), "settings.config_tracking"),
    "--checksum-key-file": (CLUSTER, ("--checksum-key-file", str(KEY_FILE)), "settings.checksum_key"),
    "--include-label-prefix": (CLUSTER, ("--include-label-prefix", "team"), "settings.include_label_prefixes"),
    "--selector-labels": (CLUSTER, ("--selector-labels", "app"), "settings.selector_labels"),
    "--request-timeout": (CLUSTER, ("--request-timeout", "3s"), "kube.request_timeout_seconds"),
    "--concurrency": (CLUSTER, ("--concurrency", "2"), "concurrency"),
    "--event-webhook": (CLUSTER, ("--event-webhook", "http://events.example.com/"), "notify.event_webhook"),
    "--slack-url": (CLUSTER, ("--slack-url", *SLACK), "notify.global_alerts"),
    "--slack-channel": ((*CLUSTER, "--slack-url", *SLACK), ("--slack-channel", "deploys"), "notify.global_alerts"),
    "--slack-user": ((*CLUSTER, "--slack-url", *SLACK), ("--slack-user", "cronary"), "notify.global_alerts"),
    "--msteams-url": (CLUSTER, ("--msteams-url", "https://teams.example.com/hook"), "notify.global_alerts"),
    "--cluster-name": (CLUSTER, ("--cluster-name", "prod-eu"), "notify.cluster_name"),
    "--git-repo": (("--no-lease",), GIT[1:], "git"),
    "--git-branch": (GIT, ("--git-branch", "deploy"), "git.branch"),
    "--git-path": (GIT, ("--git-path", "rollouts"), "git.path"),
    "--git-cache": (GIT, ("--git-cache", "/cache"), "git.cache_dir"),
    "--git-commit-per-canary": (GIT, ("--git-commit-per-canary",), "git.per_canary"),
    "--no-cluster": (GIT, ("--no-cluster",), "git.read_cluster"),
    "--git-manifests": (GIT, ("--git-manifests", "apps"), "git.manifests"),
    "--sync-delay": (GIT, ("--sync-delay", "2m"), "git.sync_delay_seconds"),
    "--log-level": (CLUSTER, ("--log-level", "debug"), "log_level"),
}


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("POD_NAMESPACE", "CRONARY_SERVICE_ACCOUNT_DIR", "CRONARY_EVENT_WEBHOOK", "CRONARY_SLACK_URL"):
        monkeypatch.delenv(name, raising=False)
    for name in ("CRONARY_MSTEAMS_URL", "CRONARY_GIT_CACHE", "CRONARY_LOG_LEVEL", "CRONARY_CHECKSUM_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)


def options(*args: str) -> TickOptions:
    """The tree `cronary tick ARGS` runs with: click parses the flags, `tick_options` builds the tree."""
    context = main.commands["tick"].make_context("tick", list(args))
    return tick_options(**context.params)


def leaves(value: Any, path: str = "") -> dict[str, Any]:
    """The tree's fields by dotted path (a branch that is None is one leaf)."""
    if not isinstance(value, _BRANCHES):
        return {path: value}
    out: dict[str, Any] = {}
    for field in dataclasses.fields(value):
        out.update(leaves(getattr(value, field.name), f"{path}.{field.name}" if path else field.name))
    return out


def test_every_flag_of_tick_is_in_the_table() -> None:
    flags = {opt for param in main.commands["tick"].params for opt in param.opts if opt.startswith("--")}
    assert flags - {"--debug"} == set(FLAGS)


@pytest.mark.parametrize("flag", sorted(FLAGS))
def test_each_flag_lands_in_exactly_one_field(flag: str) -> None:
    needs, args, field = FLAGS[flag]
    before, after = leaves(options(*needs)), leaves(options(*needs, *args))
    changed = {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}
    if field == "git":
        assert before["git"] is None and {path.split(".")[0] for path in changed} == {"git"}
    else:
        assert changed == {field}


def test_the_tree_holds_each_value_once() -> None:
    """`include_label_prefixes` used to be stored twice (the tick's options and the engine's settings)."""
    tree = options(*CLUSTER, "--include-label-prefix", "team", "--now", "2026-11-27T10:00:00Z")
    assert [path for path, value in leaves(tree).items() if value == ("team",)] == ["settings.include_label_prefixes"]
    assert tree.now == datetime(2026, 11, 27, 10, tzinfo=UTC)
    assert tree.git is None and tree.lease == LeaseOptions("cronary")


def test_git_mode_takes_no_lease() -> None:
    tree = options("--lease-namespace", "cronary", *GIT[1:])
    assert tree.lease.namespace is None and tree.git is not None and tree.git.url == GIT[-1]


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        ((*CLUSTER, "--budget", "1h1s"), "--budget"),
        ((*CLUSTER, "--concurrency", "0"), "--concurrency"),
        ((*CLUSTER, "--prometheus", "ftp://x"), "--prometheus"),
        ((*CLUSTER, "--request-timeout", "10m"), "--request-timeout"),
        (("--lease-namespace", "Not_A_Namespace"), "--lease-namespace"),
        (("--no-lease", "--no-cluster"), "--no-cluster"),
        ((*CLUSTER, "--checksum-key-file", "/nonexistent/key"), "--checksum-key-file"),
        ((*CLUSTER, "--checksum-key-file", str(FIXTURES / "objects")), "--checksum-key-file"),
    ],
)
def test_a_bad_flag_is_named(args: tuple[str, ...], flag: str) -> None:
    with pytest.raises(InputError) as caught:
        options(*args)
    assert caught.value.source == flag


@pytest.mark.parametrize("content", [b"short\n", b"x" * 4097, b"   \n"], ids=["too-short", "too-long", "blank"])
def test_a_bad_checksum_key_is_named_and_never_shown(tmp_path, content: bytes) -> None:
    key = tmp_path / "key"
    key.write_bytes(content)
    with pytest.raises(InputError) as caught:
        options(*CLUSTER, "--checksum-key-file", str(key))
    assert caught.value.source == "--checksum-key-file" and "16 to 4096 bytes" in caught.value.line
    assert content.strip().decode() not in caught.value.line or not content.strip()


def test_the_checksum_key_is_read_stripped_and_kept_out_of_repr(tmp_path) -> None:
    key = tmp_path / "key"
    key.write_bytes(b"  a-key-of-at-least-16-bytes\n")
    tree = options(*CLUSTER, "--checksum-key-file", str(key))
    assert tree.settings.checksum_key == b"a-key-of-at-least-16-bytes"
    assert "a-key-of" not in repr(tree)
