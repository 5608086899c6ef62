"""`cronary tick --git-repo ...`: GitOps mode. Decisions become commits; the GitOps tool is the only writer.

A pass: fetch the branch, read the canaries (from the cluster, read-only, or from the repository itself with
`--no-cluster`), take each canary's state from its `status.yaml` in the repository, decide every canary that is
due and whose last step is live, write the files of each decision, commit once (or once per canary), push. If
the remote moved on in the meantime, the pass starts over on the new head: fetch, read, decide again — a stale
decision is never rebased onto someone else's.

When to decide a step: with cluster access, only once the objects committed for the canary are observed live
(the GitOps tool has synced them), so the analysis of weight n judges weight n's traffic. Without it, only once
`--sync-delay` has passed since the last commit for the canary.

People act through git, too: an approval file opens a confirm gate, and a `git revert` of one of cronary's
steps holds that revision where the revert left it (a new revision starts over).
"""

from __future__ import annotations

import copy
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cronjob.git.hosts.host import Host, HostError, PullRequest
from cronjob.git.layout import (
    HELD_FILE,
    HELD_HEADER,
    KUSTOMIZATION,
    OBJECT_KINDS,
    STATE_HEADER,
    STATUS_FILE,
    TARGET_REPLICAS,
    CanaryState,
    approval_file,
    canary_dir,
    dump,
    kustomization,
    load,
    object_file,
    read_state,
    replicas_patch,
)
from cronjob.git.parsed import ParsedFiles
from cronjob.git.repo import CommitInfo, GitError, GitWorkspace, content_id
from cronjob.kube.api import ApiError, Send
from cronjob.kube.read import CanaryEntry, parse_entry, read_shard
from cronjob.shared.alerts import send_alerts
from cronjob.shared.driver import run_tick
from cronjob.shared.errors import InputError
from cronjob.shared.hook_guard import HookGuard, MemoryNotes
from cronjob.shared.notify import log_events, notify
from cronjob.shared.options import GitOptions, TickOptions
from cronjob.shared.prometheus import PrometheusMetrics
from cronjob.shared.reader import load_bytes
from cronjob.shared.selectors import parse_selector
from cronjob.shared.webhooks import WebhookCaller
from engine import Decision, HookRequest, HookResult, MetricRequest
from engine.alerting.alerts import deliveries, held_alert
from engine.alerting.providers import alert_providers
from engine.analysis import MetricTemplateSpec, MetricVerdict, parse_metric_template
from engine.canary_spec import parse_status
from engine.cluster import ClusterView
from engine.errors import SpecError
from engine.evidence import Change, commit_message, hold_message, is_cronary_commit, parse_commit_message, subject_for
from engine.hooks import HookType
from engine.model import Canary
from engine.phases import KEEPS_FAILED_CHECKS
from engine.schedule import interval_seconds, is_due
from engine.status_doc import status_manifest
from engine.subset import contains
from engine.targets.facts import read_target_facts
from engine.timefmt import format_time, parse_time

log = logging.getLogger("cronary")
REVERT = re.compile(r"This reverts commit ([0-9a-f]{7,40})")
_NOT_OBJECTS = (STATUS_FILE, KUSTOMIZATION, TARGET_REPLICAS, HELD_FILE)


class CanaryHeld(Exception):
    """A canary this pass must not commit for, with the one line that says why."""


@dataclass(frozen=True)
class Planned:
    """One canary's part of a commit."""

    key: str
    files: Mapping[str, bytes | None]
    change: Change | None  # None: only the hold changed (a revert was found)
    subject: str = ""
    message: str = ""  # the hold's commit message (a change's is made from the change)
    damaged: tuple[Mapping[str, Any], str] | None = None  # (the Canary manifest, why its state holds it): alert

    @property
    def commit_message(self) -> str:
        return commit_message([self.change]) if self.change is not None else self.message

    @property
    def branch(self) -> str:
        """The pull-request mode's branch for this canary's steps: `cronary/<namespace>/<name>`."""
        name, _, namespace = self.key.rpartition(".")
        return f"cronary/{namespace}/{name}"


@dataclass
class GitTick:
    workspace: GitWorkspace
    options: TickOptions  # with `git` set
    metrics: PrometheusMetrics
    send: Send | None = None  # the cluster, read-only; None with --no-cluster
    webhooks: WebhookCaller = field(default_factory=WebhookCaller)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC).replace(microsecond=0))
    commits: list[str] = field(default_factory=list)
    cluster: ClusterView = field(default_factory=ClusterView)
    # side-effecting hooks called in this process, by idempotency key: a decision made again after a refused
    # push (same state, same key) does not start a second load test
    hook_notes: MemoryNotes = field(default_factory=MemoryNotes)
    canaries: list[Canary] = field(default_factory=list)
    unread: dict[str, str] = field(
        default_factory=dict
    )  # what the last read could not list ("Canary a.b", "namespace x") -> why
    host: Host | None = None  # the pull-request mode's git host (`--git-pull-requests`); None: push to the branch
    proposed: dict[str, PullRequest] = field(default_factory=dict)  # open pull requests by branch, this pass
    parsed: ParsedFiles = field(init=False)  # the repository's files as parsed, kept between passes
    damaged: dict[str, tuple[Mapping[str, Any], str]] = field(default_factory=dict)  # this pass: key -> why
    budget: Budget | None = None  # set by run_loop: when the Job ends, and what committing costs

    def __post_init__(self) -> None:
        self.parsed = ParsedFiles(self.workspace)

    @property
    def git(self) -> GitOptions:
        assert self.options.git is not None
        return self.options.git

    # -- the pass ------------------------------------------------------------------------------------------
    def run(self) -> int:
        """Passes until one lands (or nothing changed). 0 on success, 1 when a canary failed or the push did not land."""
        for attempt in range(1, self.git.push_attempts + 1):
            self.workspace.sync()
            plans, failed = self.plan()
            if self.host is not None:
                return self.propose(plans, failed)
            started = self.budget.clock() if self.budget is not None else 0.0
            shas = self.commit(plans, self.now) if plans else []
            if not shas:
                log.info("nothing to commit", extra={"tick": format_time(self.now)})
                return 1 if failed else 0
            landed = self.workspace.push()
            if self.budget is not None:
                self.budget.committed(self.budget.clock() - started, len(plans))
            if landed:
                self.commits.extend(shas)
                self.report(plans)
                return 1 if failed else 0
            log.info(
                "the remote branch moved on (attempt %d/%d): deciding again on the new head",
                attempt,
                self.git.push_attempts,
            )
        log.error("could not push after %d attempts: the branch keeps moving", self.git.push_attempts)
        return 1

    def run_loop(self, sleep: Callable[[float], None], monotonic: Callable[[], float]) -> int:
        """Passes until the budget is spent: after each, sleep the shortest canary interval (a canary is decided
        at most once per interval anyway; the interval is measured from the state in git)."""
        started, failed = monotonic(), False
        self.budget = Budget(monotonic, started + self.options.budget_seconds, self.options.budget_seconds)
        while True:
            pass_started = monotonic()
            try:
                failed = bool(self.run()) or failed
            except (GitError, ApiError, HostError) as err:  # the remote, cluster or host is unreachable: next Job
                log.error("%s", err)
                return 1
            if self.options.once or self.options.now is not None:
                return 1 if failed else 0
            wait = min((interval_seconds(c) for c in self.canaries), default=60.0)
            if monotonic() - started + wait + (monotonic() - pass_started) >= self.options.budget_seconds:
                return 1 if failed else 0
            sleep(wait)

    def commit(self, plans: list[Planned], now: datetime) -> list[str]:
        """One commit for all changed canaries (or one each with `per_canary`); a hold found after a revert is
        always a commit of its own."""
        changes = [p for p in plans if p.change is not None]
        holds = [[p] for p in plans if p.change is None]
        groups = [[p] for p in changes] if self.git.per_canary else ([changes] if changes else [])
        shas = []
        for group in [*groups, *holds]:
            files: dict[str, bytes | None] = {}
            for plan in group:
                files.update(plan.files)
            changed = [p.change for p in group if p.change is not None]
            message = commit_message(changed) if changed else group[0].message
            sha = self.workspace.commit(files, message, now)
            if sha:
                shas.append(sha)
        return shas

    def propose(self, plans: list[Planned], failed: bool) -> int:
        """The pull-request mode: each canary's step is a commit on the synced head, pushed to the canary's own
        branch, and a pull request into `--git-branch` opened (or updated) with the step's evidence as its body.
        Nothing is pushed to `--git-branch`: the merge is the people's, and the next step of the canary waits for it
        (`plan_one`). 0, or 1 when a canary failed."""
        assert self.host is not None
        landed = []
        for plan in plans:
            message = plan.commit_message
            sha = self.workspace.commit(plan.files, message, self.now)
            if sha is None:
                continue
            self.workspace.push_to(plan.branch)
            title, _, body = message.partition("\n")
            pull = self.host.propose(plan.branch, title, body.strip("\n") + "\n")
            log.info(
                "proposed in pull request #%d: %s", pull.number, title, extra={"canary": plan.key, "pull": pull.url}
            )
            self.commits.append(sha)
            landed.append(plan)
        if not landed:
            log.info("nothing to commit", extra={"tick": format_time(self.now)})
        self.report(landed)
        return 1 if failed else 0

    def report(self, plans: list[Planned]) -> None:
        """What a landed commit decided: log lines, event webhooks and alerts (no Kubernetes Events: git mode
        does not write to the cluster)."""
        for plan in plans:
            extra = {"canary": plan.key, "tick": format_time(self.now)}
            if plan.change is None:
                log.info("%s", plan.subject, extra=extra)
                if plan.damaged is not None:
                    self.alert_damaged(*plan.damaged)
                continue
            log_events(plan.change.decision, extra)
            log.info("committed: %s", subject_for(plan.change), extra=extra)
            notify(plan.change.decision, self.options.notify, self.webhooks, self.cluster, None, extra)

    def alert_damaged(self, manifest: Mapping[str, Any], reason: str) -> None:
        """The held canary's alert, to its `analysis.alerts` providers or the global notifier, as an error."""
        parsed = parse_entry({k: v for k, v in manifest.items() if k != "status"}, self.options.settings.mesh_provider)
        if parsed.canary is None:
            return  # its spec is invalid too: that is logged every pass, and there is no one to tell
        alert = held_alert(
            parsed.canary, reason, cluster_name=self.options.notify.cluster_name, time=format_time(self.now)
        )
        send_alerts(
            deliveries(parsed.canary, (alert,)),
            alert_providers(self.cluster),
            self.metrics.read_secret,
            global_target=self.options.notify.global_alerts,
        )

    _now: datetime | None = None

    @property
    def now(self) -> datetime:
        assert self._now is not None
        return self._now

    def plan(self) -> tuple[list[Planned], bool]:
        """Decide every canary on the current head; what each would commit."""
        self.parsed.new_pass()
        self.damaged = {}
        entries, cluster, now = self.read()
        self._now, self.cluster = now, cluster
        self.canaries = [e.canary for e in entries if e.canary is not None]
        self.metrics.new_tick()
        self.proposed = dict(self.host.open_pull_requests()) if self.host is not None else {}
        holds = self.reverted_steps()
        plans: list[Planned] = []
        failed = bool(self.unread)
        for what, why in self.unread.items():  # a LIST that failed: those canaries wait for the next pass
            log.error(
                "%s not decided: %s",
                what,
                why,
                extra={"canary": what.removeprefix("Canary ")} if what.startswith("Canary ") else {},
            )
        due = []
        for entry in entries:
            if entry.canary is None:
                log.error("Canary %s is invalid: %s", entry.key, entry.error, extra={"canary": entry.key})
                failed = True
                continue
            due.append(entry)
        self.metrics.prefetch_canaries(
            (e.canary for e in due if e.canary is not None), self.options.settings, cluster.metric_templates
        )
        # the most overdue first, so that a shard too large for one Job is decided in turns, not always the same
        due.sort(key=lambda e: e.canary.status.last_decision_time or "" if e.canary is not None else "")
        for index, entry in enumerate(due):
            if self.budget is not None and not self.budget.fits(index, len(plans)):
                log.warning(
                    "%d of %d due canaries left for the next Job: deciding them would not leave time to commit "
                    "within the --budget of %gs",
                    len(due) - index,
                    len(due),
                    self.budget.seconds,
                    extra={"tick": format_time(now)},
                )
                break
            try:
                plan = self.plan_one(entry, cluster, now, holds)
            except CanaryHeld as err:
                log.error("%s", err, extra={"canary": entry.key})
                failed = True
                continue
            except Exception as err:
                log.error("%s: %s", type(err).__name__, err, extra={"canary": entry.key})
                failed = True
                continue
            if plan is not None:
                plans.append(plan)
        plans.extend(self.held_markers())
        plans.sort(key=lambda p: p.key)  # a commit lists its canaries in the order they are read
        return plans, failed

    def held_markers(self) -> list[Planned]:
        """A canary held by its damaged state gets a `held.yaml` saying why, committed once (and again only when
        the reason changes): the record people see in the repository, and what makes its alert fire once, not
        every pass. The canary's next commit, once its state is sound again, removes it."""
        plans = []
        for key, (manifest, reason) in sorted(self.damaged.items()):
            meta = manifest.get("metadata") or {}
            namespace, name = str(meta.get("namespace") or "default"), str(meta.get("name"))
            marker = f"{canary_dir(self.git.path, namespace, name)}/{HELD_FILE}"
            content = dump({"canary": f"{namespace}/{name}", "reason": reason}, HELD_HEADER)
            if self.proposed.get(f"cronary/{namespace}/{name}") is not None:
                continue  # pull-request mode: the marker (or a step) waits for its merge; proposing again would re-alert
            if self.workspace.read(marker) != content:
                subject = f"{key}: held, its state is damaged"
                plans.append(
                    Planned(key, {marker: content}, None, subject, f"{subject}\n\n{reason}\n", (manifest, reason))
                )
        return plans

    # -- reading ---------------------------------------------------------------------------------------------
    def read(self) -> tuple[list[CanaryEntry], ClusterView, datetime]:
        """Secret data the cluster reader keeps in memory is dropped here: git mode never writes it."""
        if self.git.read_cluster and self.send is not None:
            snapshot = read_shard(self.send, self.options.shard, self.options.settings, self.options.now, self.clock)
            self.metrics.read_secret = snapshot.read_secret
            self.unread = snapshot.failed
            return [self.with_git_state(e) for e in snapshot.canaries], snapshot.cluster, snapshot.now
        now = self.options.now or self.clock()
        self.unread = {}
        entries, cluster = self.read_repository()
        return [self.with_git_state(e) for e in entries], cluster, now

    def with_git_state(self, entry: CanaryEntry) -> CanaryEntry:
        """The canary with its status from the repository (state lives in git; the cluster's copy is a mirror).
        A state that holds the canary is an invalid entry saying why, and is remembered in `damaged` for its
        marker and alert (an invalid spec is not: that is the Canary's own error, logged every pass)."""
        meta = entry.manifest.get("metadata") or {}
        try:
            directory = canary_dir(self.git.path, str(meta.get("namespace") or "default"), str(meta.get("name")))
        except ValueError:
            return entry  # no directory of its own: invalid already (its name is)
        path = f"{directory}/{STATUS_FILE}"
        try:
            state = self.parsed.get(path, read_state, f"{meta.get('namespace') or 'default'}/{meta.get('name')}")
            if state is None:
                generated = self.generated_objects(directory)
                if not generated:
                    return entry  # a new canary: it starts from no state
                # a state lost while the rollout's objects are committed: starting over would move traffic
                reason = (
                    f"{path}: missing, but {len(generated)} objects cronary generated for this canary are "
                    "committed: restore the file from git history, or remove the directory to start over"
                )
            else:
                parse_status(state.status)
                return parse_entry(
                    {**entry.manifest, "status": dict(state.status)}, self.options.settings.mesh_provider
                )
        except InputError as err:  # one canary's unreadable state is that canary's error; the others go on
            reason = err.line
        except SpecError as err:
            reason = f"{path}: {err.path}: {err.message}"
        held = CanaryEntry(entry.manifest, None, reason)
        self.damaged[held.key] = (entry.manifest, reason)
        return held

    def read_repository(self) -> tuple[list[CanaryEntry], ClusterView]:
        """`--no-cluster`: the team's Canaries, Deployments, HPAs and ConfigMaps from the repository, and the
        generated objects from cronary's own directory. Deployments count as rolled out (nothing can observe
        them); `--sync-delay` stands in for that."""
        root = self.git.path.strip("/")
        objects: list[dict[str, Any]] = []
        canaries: list[CanaryEntry] = []
        paths = set(self.workspace.list(self.git.manifests.strip("/")))
        if self.git.manifests.strip("/"):
            paths |= set(self.workspace.list(root))
        for path in sorted(paths):
            if not path.endswith((".yaml", ".yml")):
                continue
            ours = bool(root) and (path == root or path.startswith(root + "/"))
            if (ours and path.rsplit("/", 1)[-1] in _NOT_OBJECTS) or "/approvals/" in path:
                continue
            try:
                documents = self.parsed.get(path, _documents)
            except InputError as err:  # not a file cronary can read: skipped (it may be a Canary nobody sees)
                log.warning("skipped: %s", err.line)
                continue
            for doc in documents:
                kind = doc.get("kind")
                if kind == "Canary" and not ours:
                    if self.in_shard(doc):
                        canaries.append(parse_entry(doc, self.options.settings.mesh_provider))
                elif isinstance(kind, str) and kind in OBJECT_KINDS:
                    objects.append(rolled_out(doc) if kind == "Deployment" else doc)
        canaries.sort(key=lambda e: e.key)
        return canaries, ClusterView.of(objects, metric_templates=templates_of(objects))

    def in_shard(self, canary: Mapping[str, Any]) -> bool:
        """Does a Canary read from the repository belong to this shard (`--namespace`, `--selector`), as the API
        server would answer a LIST for them in cluster mode?"""
        meta = canary.get("metadata") if isinstance(canary.get("metadata"), Mapping) else {}
        shard = self.options.shard
        if shard.namespaces and str(meta.get("namespace") or "default") not in shard.namespaces:
            return False
        labels = meta.get("labels") if isinstance(meta.get("labels"), Mapping) else {}
        return shard.selector is None or parse_selector(shard.selector).matches(
            {str(k): str(v) for k, v in labels.items()}
        )

    # -- one canary --------------------------------------------------------------------------------------------
    def plan_one(
        self, entry: CanaryEntry, cluster: ClusterView, now: datetime, holds: Mapping[str, Mapping[str, Any]]
    ) -> Planned | None:
        canary = entry.canary
        assert canary is not None
        directory = canary_dir(self.git.path, canary.namespace, canary.name)
        state_file = f"{directory}/{STATUS_FILE}"
        state = self.parsed.get(state_file, read_state, f"{canary.namespace}/{canary.name}")
        state = state or CanaryState(status_manifest(canary.status))
        extra = {"canary": canary.key, "tick": format_time(now)}
        pending = self.proposed.get(f"cronary/{canary.namespace}/{canary.name}")
        if pending is not None:  # the pull-request mode: the last step is not on the branch until people merge it
            log.info("waiting for pull request #%d to be merged: %s", pending.number, pending.url, extra=extra)
            return None
        revision = read_target_facts(canary, cluster, self.options.settings).hash
        hold = state.hold or holds.get(canary.key)
        if hold is not None and revision and hold.get("revision") == revision:
            if state.hold is None:  # just found: record it, so it outlives the revert commit's place in the log
                held = CanaryState(state.status, dict(hold), state.secret_copies)
                reason = f"step reverted by {hold.get('author')} in {str(hold.get('commit'))[:12]}"
                return Planned(
                    canary.key,
                    {f"{directory}/{STATUS_FILE}": dump(held.document(canary.namespace, canary.name), STATE_HEADER)},
                    None,
                    f"{canary.key}: held, {reason}",
                    hold_message(canary.key, canary.status, format_time(now), reason),
                )
            log.info(
                "held: a step of revision %s was reverted in git; a new revision starts over", revision, extra=extra
            )
            return None
        if not is_due(canary, now):
            return None
        if not self.last_step_is_live(canary, directory, cluster, now, extra):
            return None

        guarded = HookGuard(self.webhooks, self.hook_notes, format_time(now), extra)

        def answer_hook(request: HookRequest) -> HookResult:
            if request.hook.type.is_gate:
                approval = self.approval(directory, request.hook.type, revision)
                if approval is not None:
                    log.info(
                        "gate %s (%s) opened by %s", request.hook.name, request.hook.type.value, approval, extra=extra
                    )
                    return HookResult(True, f"approved in git by {approval}")
            return guarded(request)

        def answer_metrics(requests: tuple[MetricRequest, ...]) -> dict:
            return self.metrics.answer(requests)

        decision = run_tick(
            canary, cluster, now, self.options.settings, answer_hook, answer_metrics, self.metrics.providers_available
        )
        if not decision.due:
            return None
        unkeyed = [k for k, _ in decision.status.tracked_configs or () if k.startswith("secret/")]
        if unkeyed and not self.options.settings.checksum_key:
            raise CanaryHeld(
                f"not committed: the checksum of Secret {unkeyed[0].removeprefix('secret/')} would be recorded in the "
                "repository unkeyed, and could be checked against guesses of its data; give --checksum-key-file "
                "(a key the repository does not hold), or --no-config-tracking"
            )
        waiting = waiting_gate(decision, revision)
        files = {
            path: data
            for path, data in self.files_for(directory, decision, state, waiting).items()
            if self.workspace.blob_id(path) != (None if data is None else content_id(data))
        }
        moved = state_moved(canary, decision) or waiting != state.waiting
        if not moved and not [
            p for p in files if not p.endswith(f"/{STATUS_FILE}") and not p.endswith(f"/{KUSTOMIZATION}")
        ]:
            log_events(decision, extra)  # a repeated wait ("not ready", "waiting for approval"): logged, not committed
            return None
        halted = tuple(verdict(v) for v in state.halted)
        gate = (waiting["gate"], waiting["revision"]) if waiting else None
        return Planned(canary.key, files, Change(decision, canary.status, halted, gate))

    def last_step_is_live(
        self, canary: Canary, directory: str, cluster: ClusterView, now: datetime, extra: dict
    ) -> bool:
        """With cluster access: every object committed for the canary is observed live. Without: the sync delay has
        passed since the canary's last commit."""
        if not (self.git.read_cluster and self.send is not None):
            last = parse_time(canary.status.last_decision_time or "")
            if last is not None and now < last + timedelta(seconds=self.git.sync_delay_seconds):
                log.info(
                    "waiting for the GitOps tool: next step after the sync delay (%gs)",
                    self.git.sync_delay_seconds,
                    extra=extra,
                )
                return False
            return True
        for path in self.generated_objects(directory):
            committed = self.parsed.get(path, load)
            if not isinstance(committed, Mapping) or "kind" not in committed:
                continue
            meta = committed.get("metadata") or {}
            live = cluster.get(
                str(committed["kind"]), str(meta.get("namespace") or canary.namespace), str(meta.get("name"))
            )
            if live is None or not contains(live, committed):
                log.info("waiting for the GitOps tool to sync %s %s", committed["kind"], meta.get("name"), extra=extra)
                return False
        return True

    def generated_objects(self, directory: str) -> list[str]:
        """The files of objects cronary generated for a canary that are committed in its directory."""
        return [
            path
            for path in self.workspace.list(directory)
            if path.endswith(".yaml") and path.rsplit("/", 1)[-1] not in _NOT_OBJECTS and "/approvals/" not in path
        ]

    def files_for(
        self, directory: str, decision: Decision, state: CanaryState, waiting: Mapping[str, str] | None = None
    ) -> dict[str, bytes | None]:
        canary = decision.canary
        files: dict[str, bytes | None] = {}
        for obj in decision.objects:
            if obj["kind"] == "Scale":
                patch = replicas_patch(canary.namespace, obj["metadata"]["name"], obj["spec"]["replicas"])
                files[f"{directory}/{TARGET_REPLICAS}"] = dump(
                    patch, "the target's replicas: include this patch in the kustomization that deploys it"
                )
                continue
            files[f"{directory}/{object_file(obj)}"] = dump(obj)
        existing = [p.rsplit("/", 1)[-1] for p in self.workspace.list(directory)]
        resources = {n for n in existing if n.endswith(".yaml") and n not in _NOT_OBJECTS and "/" not in n}
        resources |= {p.rsplit("/", 1)[-1] for p in files if p.rsplit("/", 1)[-1] not in _NOT_OBJECTS}
        files[f"{directory}/{KUSTOMIZATION}"] = dump(kustomization(sorted(resources)))
        copies = tuple(decision.secret_copies) or state.secret_copies
        new_state = CanaryState(status_manifest(decision.status), None, copies, halted_checks(state, decision), waiting)
        files[f"{directory}/{STATUS_FILE}"] = dump(new_state.document(canary.namespace, canary.name), STATE_HEADER)
        if self.workspace.blob_id(f"{directory}/{HELD_FILE}") is not None:
            files[f"{directory}/{HELD_FILE}"] = None  # the state is sound again: the hold's marker goes
        return files

    def approval(self, directory: str, gate: HookType, revision: str) -> str | None:
        """Who approved this gate for this revision in git, or None."""
        path = approval_file(directory, gate.value)
        doc = self.parsed.get(path, load)
        if not isinstance(doc, Mapping) or str(doc.get("revision") or "") != revision:
            return None
        commits = self.workspace.log(path, limit=1)
        return f"{commits[0].author} in {commits[0].oid[:12]}" if commits else "an approval file"

    def reverted_steps(self) -> dict[str, dict[str, Any]]:
        """Canaries whose step a person reverted since cronary's last commit: canary -> hold."""
        recent = self.workspace.log(self.git.path or None, limit=200)
        by_oid = {c.oid: c for c in recent}
        holds: dict[str, dict[str, Any]] = {}
        for commit in recent:
            if is_cronary_commit(commit.message):
                break  # everything older was seen by an earlier pass
            for reverted in REVERT.findall(commit.message):
                original = _find(by_oid, reverted)
                if original is None or not is_cronary_commit(original.message):
                    continue
                for entry in parse_commit_message(original.message):
                    holds.setdefault(
                        entry.canary,
                        {
                            "revision": entry.revision,
                            "commit": commit.oid,
                            "author": commit.author,
                            "reverted": original.oid,
                        },
                    )
        return holds


_FIRST_COMMIT_S = 2.0  # before a Job has committed once: what a commit and a push of a few canaries take
_COMMIT_PER_CANARY_S = 0.002  # and per canary in it (1,000 canaries: about 2 s; docs/performance.md)
_MARGIN = 1.5  # estimates are from one sample on a shared machine


@dataclass
class Budget:
    """When the Job's budget ends, and whether one more canary can still be decided and its commit pushed before
    then: the pass so far tells what a decision costs, the Job's last commit what committing costs."""

    clock: Callable[[], float]
    deadline: float
    seconds: float
    commit_seconds: float | None = None  # the last commit + push of this Job, per canary committed and fixed
    commit_canaries: int = 0
    pass_started: float | None = None

    def committed(self, seconds: float, canaries: int) -> None:
        self.commit_seconds, self.commit_canaries = seconds, canaries

    def commit_estimate(self, canaries: int) -> float:
        if self.commit_seconds is None:
            return _FIRST_COMMIT_S + _COMMIT_PER_CANARY_S * canaries
        per = self.commit_seconds / max(self.commit_canaries, 1)
        return max(self.commit_seconds, per * canaries)

    def fits(self, decided: int, planned: int) -> bool:
        """Can the next canary (after `decided` in this pass, `planned` of them to commit) be decided, and all
        of it committed, before the deadline?"""
        now = self.clock()
        if decided == 0:
            self.pass_started = now
        started = self.pass_started if self.pass_started is not None else now
        per_canary = (now - started) / decided if decided else 0.0
        return now + _MARGIN * (per_canary + self.commit_estimate(planned + 1)) <= self.deadline


def _find(by_oid: Mapping[str, CommitInfo], prefix: str) -> CommitInfo | None:
    return next((c for oid, c in by_oid.items() if oid.startswith(prefix)), None)


def _documents(data: bytes | None, path: str) -> list[dict[str, Any]]:
    """The objects of a repository file, read like every input file (an `InputError` if it is not YAML within
    the limits)."""
    if not data:
        return []
    return [d for d in load_bytes(data, path) if isinstance(d, dict)]


def templates_of(objects: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], MetricTemplateSpec]:
    """The valid MetricTemplates among objects read from the repository (an invalid one reads as "not found")."""
    out = {}
    for obj in objects:
        if obj.get("kind") == "MetricTemplate":
            try:
                template = parse_metric_template(obj)
            except SpecError:
                continue
            out[(template.namespace, template.name)] = template
    return out


def rolled_out(deployment: Mapping[str, Any]) -> dict[str, Any]:
    """A Deployment from the repository, with the status a finished rollout would show."""
    doc = copy.deepcopy(dict(deployment))
    meta = doc.setdefault("metadata", {})
    meta.setdefault("generation", 1)
    replicas = (doc.get("spec") or {}).get("replicas", 1)
    doc["status"] = {
        "observedGeneration": meta["generation"],
        "replicas": replicas,
        "updatedReplicas": replicas,
        "readyReplicas": replicas,
        "availableReplicas": replicas,
        "conditions": [
            {"type": "Available", "status": "True", "reason": "MinimumReplicasAvailable"},
            {"type": "Progressing", "status": "True", "reason": "NewReplicaSetAvailable"},
        ],
    }
    return doc


_QUIET_FIELDS = ("lastDecisionTime", "lastTransitionTime", "conditions")


def state_moved(canary: Canary, decision: Decision) -> bool:
    """Did the decision move the canary's state (phase, weights, counters, revision, tracked configs)? A tick that
    only repeated a wait changes nothing but timestamps."""
    before = {k: v for k, v in status_manifest(canary.status).items() if k not in _QUIET_FIELDS}
    after = {k: v for k, v in status_manifest(decision.status).items() if k not in _QUIET_FIELDS}
    return before != after


_KEEPS_FAILED_CHECKS = frozenset(p.value for p in KEEPS_FAILED_CHECKS)


def halted_checks(state: CanaryState, decision: Decision) -> tuple[dict[str, Any], ...]:
    """The failed metric checks of the analysis in progress, kept in status.yaml until it ends, so the commit that
    rolls back (a tick that runs no analysis of its own) can show the values that caused it."""
    if decision.status.phase not in _KEEPS_FAILED_CHECKS or decision.status.failed_checks == 0:
        return ()
    failed = tuple(
        {"metric": v.metric, "value": v.value, "bound": v.bound, "message": v.message}
        for v in decision.verdicts
        if not v.passed
    )
    return failed or state.halted


def verdict(saved: Mapping[str, Any]) -> MetricVerdict:
    value = saved.get("value")
    return MetricVerdict(
        str(saved.get("metric")),
        float(value) if isinstance(value, (int, float)) else None,
        str(saved.get("bound") or ""),
        False,
        str(saved.get("message") or ""),
    )


def waiting_gate(decision: Decision, revision: str) -> dict[str, str] | None:
    """The confirm gate a decision waits at — a gate hook it asked that did not approve — and the revision an
    approval must name (the target's, which is nowhere else in the repository while a confirm-rollout gate holds
    the new revision back)."""
    for hook in decision.hooks:
        if not hook.ok and HookType(hook.type).is_gate:
            return {"gate": hook.type, "hook": hook.name, "revision": revision}
    return None
