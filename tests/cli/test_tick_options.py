"""`cronary tick`'s options tree (`cronjob.shared.options.TickOptions`), built from its flags by
`cronjob.flags.tick_options`: each flag lands in exactly one field of the tree, and every flag is checked."""

from __future__ import annotations

import dataclasses
import subprocess
from datetime import UTC, datetime
from pathlib import Path
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
    PullRequestOptions,
    Shard,
    Signature,
    TickOptions,
)
from engine import Settings
from harness.paths import FIXTURES

KEY_FILE = FIXTURES / "objects" / "checksum-key"  # a test key, 32 bytes
_BRANCHES = (
    TickOptions,
    Shard,
    Settings,
    LeaseOptions,
    NotifyOptions,
    PrometheusOptions,
    KubeOptions,
    GitOptions,
    PullRequestOptions,
)
CLUSTER = ("--lease-namespace", "cronary")
GIT = ("--no-lease", "--git-repo", "https://git.example.com/team/deploy.git")
SLACK = ("https://hooks.slack.com/services/T000/B000/XXXX",)
PULLS = (*GIT, "--git-pull-requests", "github")
KEY, TOKEN = "{ssh_key}", "{token_file}"  # files the test makes (see `files`)

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
    "--git-author": (GIT, ("--git-author", "Rollouts Bot <bot@example.com>"), "git.author"),
    "--git-committer": (GIT, ("--git-committer", "CI <ci@example.com>"), "git.committer"),
    "--git-signing-key": (GIT, ("--git-signing-key", KEY), "git.sign"),
    "--git-pull-requests": (GIT, ("--git-pull-requests", "github"), "git.pull_requests"),
    "--git-api-url": (PULLS, ("--git-api-url", "https://ghe.example.com/api/v3"), "git.pull_requests.api_url"),
    "--git-api-repo": (PULLS, ("--git-api-repo", "team/other"), "git.pull_requests.repository"),
    "--git-api-token-file": (PULLS, ("--git-api-token-file", TOKEN), "git.pull_requests.token"),
    "--log-level": (CLUSTER, ("--log-level", "debug"), "log_level"),
}


@pytest.fixture(autouse=True)
def _no_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("POD_NAMESPACE", "CRONARY_SERVICE_ACCOUNT_DIR", "CRONARY_EVENT_WEBHOOK", "CRONARY_SLACK_URL"):
        monkeypatch.delenv(name, raising=False)
    for name in ("CRONARY_MSTEAMS_URL", "CRONARY_GIT_CACHE", "CRONARY_LOG_LEVEL", "CRONARY_CHECKSUM_KEY_FILE"):
        monkeypatch.delenv(name, raising=False)
    for name in ("AUTHOR", "COMMITTER", "SIGNING_KEY", "API_URL", "API_TOKEN", "API_TOKEN_FILE"):
        monkeypatch.delenv(f"CRONARY_GIT_{name}", raising=False)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, str]:
    """The files some flags name: an SSH signing key (made by the real ssh-keygen) and an API token."""
    key, token = tmp_path / "signing-key", tmp_path / "token"
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(key)], check=True)
    token.write_text("ghp_token_for_tests\n")
    return {KEY: str(key), TOKEN: str(token)}


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
def test_each_flag_lands_in_exactly_one_field(flag: str, files: dict[str, str]) -> None:
    needs, args, field = FLAGS[flag]
    args = tuple(files.get(arg, arg) for arg in args)
    before, after = leaves(options(*needs)), leaves(options(*needs, *args))
    changed = {path for path in before.keys() | after.keys() if before.get(path) != after.get(path)}
    if field in ("git", "git.pull_requests"):  # a branch the flag turns on: everything changed is below it
        assert before[field] is None and changed and all(p == field or p.startswith(f"{field}.") for p in changed)
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
        (("--no-lease", "--git-repo", "https://git.example.com/team/deploy.git?token=s3cret"), "--git-repo"),
        (("--no-lease", "--git-repo", "https://git.example.com/team/deploy.git#main"), "--git-repo"),
        ((*CLUSTER, "--checksum-key-file", str(FIXTURES / "objects")), "--checksum-key-file"),
        ((*GIT, "--git-author", "no email"), "--git-author"),
        ((*GIT, "--git-author", "<bot@example.com>"), "--git-author"),
        ((*GIT, "--git-committer", "Bot <bot@example.com> extra"), "--git-committer"),
        ((*GIT, "--git-signing-key", "/nonexistent/key"), "--git-signing-key"),
        ((*GIT, "--git-signing-key", "/etc/hostname"), "--git-signing-key"),
        ((*GIT, "--git-pull-requests", "gitlab-or-so"), "--git-pull-requests"),
        ((*PULLS, "--git-api-url", "ftp://api.example.com"), "--git-api-url"),
        ((*PULLS, "--git-api-repo", "not a repo"), "--git-api-repo"),
        (("--no-lease", "--git-repo", "/srv/git/apps.git", "--git-pull-requests", "github"), "--git-api-repo"),
        ((*PULLS, "--git-api-token-file", "/nonexistent/token"), "--git-api-token-file"),
        ((*GIT, "--git-api-url", "https://api.example.com"), "--git-api-url"),
        (("--no-lease", "--git-signing-key", "/nonexistent/key"), "--git-signing-key"),
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


def test_identities_and_the_repository_on_the_host_are_read_from_the_flags() -> None:
    git = options(*PULLS, "--git-author", "Rollouts Bot <bot@example.com>").git
    assert git is not None and git.author == Signature("Rollouts Bot", "bot@example.com") and git.committer is None
    assert git.pull_requests == PullRequestOptions("github", "https://api.github.com", "team/deploy")
    assert options(*GIT).git.author == Signature("cronary", "cronary@cronary.invalid")  # type: ignore[union-attr]
    scp = options("--no-lease", "--git-repo", "git@github.com:team/apps.git", "--git-pull-requests", "github").git
    assert scp is not None and scp.pull_requests is not None and scp.pull_requests.repository == "team/apps"


def test_the_api_token_comes_from_the_environment_and_is_never_shown(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CRONARY_GIT_API_TOKEN", "ghp_from_the_environment")
    git = options(*PULLS).git
    assert git is not None and git.pull_requests is not None
    assert git.pull_requests.token == "ghp_from_the_environment"
    assert "ghp_" not in repr(git)
