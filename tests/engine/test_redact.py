"""The one redactor (`engine.redact`): what of a URL may be shown, and a text made safe to print.

The rule (docs/operations.md, "Credentials in output"): of a webhook, alert, Prometheus, MetricTemplate or git
remote URL only `scheme://host[:port]` is ever shown; userinfo, path, query and fragment never are, in any
spelling a server may echo them in. The last test reads the source tree: no other masking helper is left.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from engine.redact import INVALID_URL, MASK, origin, redact, url_secrets

ROOT = Path(__file__).resolve().parents[2]

ORIGINS = [
    pytest.param("http://flagger-loadtester.test/", "http://flagger-loadtester.test", id="plain"),
    pytest.param(
        "https://alice:s3cr3t@Hooks.Example.COM:8443/services/T0/B0/xox?token=abc#frag",
        "https://hooks.example.com:8443",
        id="everything",
    ),
    pytest.param("https://tok3n@git.example/org/repo.git", "https://git.example", id="token-as-user"),
    pytest.param("http://[::1]:9090/prom/S3CRET?token=abc", "http://[::1]:9090", id="ipv6"),
    pytest.param("http://[fe80::1%25eth0]:80/", "http://[fe80::1%25eth0]:80", id="ipv6-zone"),
    pytest.param("ssh://git:pw@example:2222/x.git", "ssh://example:2222", id="ssh"),
    pytest.param("git@github.com:org/x.git", "ssh://github.com", id="scp-like"),
    pytest.param("file:///srv/git/x.git", "file://", id="file-url"),
    pytest.param("/srv/git/S3CRET/x.git", "file://", id="local-path"),
    pytest.param("http://[::1/", INVALID_URL, id="broken-ipv6"),
    pytest.param("http://h:99999/", INVALID_URL, id="port-out-of-range"),
    pytest.param("prometheus:9090?token=abc", INVALID_URL, id="no-scheme"),
    pytest.param("http://", INVALID_URL, id="no-host"),
]


@pytest.mark.parametrize("url, expected", ORIGINS)
def test_origin_is_scheme_host_and_port_only(url: str, expected: str) -> None:
    assert origin(url) == expected


# (text, the URLs it is about, extra secrets, what may be printed)
TEXTS = [
    pytest.param(
        "POST https://user:token@loadtester.test:8080/run?key=s3cret: HTTP 500",
        (),
        (),
        "POST https://loadtester.test:8080: HTTP 500",
        id="url-inside-a-longer-text",
    ),
    pytest.param(
        "got 'http://u:p@h/?t=1' (see http://[::1]:80/x).",
        (),
        (),
        "got 'http://h' (see http://[::1]:80).",
        id="quotes-and-brackets",
    ),
    pytest.param(
        "rejected /hook?token=t0ken-value&team=blue auth=s3cr3t-pw",
        ("http://alice:s3cr3t-pw@127.0.0.1:5000/hook?token=t0ken-value&team=blue",),
        (),
        f"rejected {MASK} auth={MASK}",
        id="echoed-path-query-and-password",
    ),
    pytest.param(
        "only token=t0ken-value came back",
        ("http://h/?token=t0ken-value",),
        (),
        f"only {MASK} came back",
        id="echoed-query-pair",
    ),
    pytest.param(
        "value t0ken-value alone", ("http://h/?token=t0ken-value",), (), f"value {MASK} alone", id="echoed-query-value"
    ),
    pytest.param(
        "no route services/T0SECRET/B0SECRET",
        ("https://hooks.slack.example/services/T0SECRET/B0SECRET/xoxtoken",),
        (),
        f"no route {MASK}/{MASK}/{MASK}",
        id="echoed-path-segments",
    ),
    pytest.param(
        "echo s3cret-Pa55! and S3CRET-PA55%21",
        ("https://u:s3cret-Pa55%21@h/x",),
        (),
        f"echo {MASK} and {MASK}",
        id="percent-encoded-decoded-and-recased",
    ),
    pytest.param("echo a b/c", ("http://h/?q=a+b%2Fc",), (), f"echo {MASK}", id="query-plus-and-percent"),
    pytest.param("auth with s3cret-Pa55 failed", (), ("s3cret-Pa55",), f"auth with {MASK} failed", id="extra-secret"),
    pytest.param(
        "token ghp_abc in https://ghp_abc@h/x",
        ("https://ghp_abc@h/x",),
        (),
        f"token {MASK} in https://h",
        id="token-as-user",
    ),
    pytest.param(
        "failed for 'org/repo.git'", ("https://git.example/org/repo.git",), (), f"failed for '{MASK}'", id="git-path"
    ),
    pytest.param("other url ssh://git:pw@h/x", (), (), "other url ssh://h", id="any-url-in-text"),
    pytest.param(
        "Max retries exceeded with url: /api/v1/x?labelSelector=a (Caused by X)",
        (),
        (),
        f"Max retries exceeded with url: {MASK} (Caused by X)",
        id="urllib3-request-target",
    ),
    pytest.param(
        "must be an https://, ssh://, file:// URL",
        (),
        (),
        "must be an https://, ssh://, file:// URL",
        id="prose-is-left-alone",
    ),
    pytest.param("a short pw stays", ("http://u:pw@h/",), (), "a short pw stays", id="too-short-to-mask"),
    pytest.param(
        "at http://alice.example:80/x by alice",
        ("http://alice:secret@alice.example:80/x",),
        (),
        f"at http://alice.example:80 by {MASK}",
        id="an-origin-is-never-masked",
    ),
]


@pytest.mark.parametrize("text, urls, secrets, expected", TEXTS)
def test_redact(text: str, urls: tuple[str, ...], secrets: tuple[str, ...], expected: str) -> None:
    assert redact(text, *urls, secrets=secrets) == expected
    assert redact(expected, *urls, secrets=secrets) == expected, "redacting twice changes nothing"


def test_a_url_that_cannot_be_taken_apart_is_all_secret() -> None:
    assert url_secrets("not a url?token=abc") == {"not a url?token=abc"}
    assert redact("echo: not a url?token=abc", "not a url?token=abc") == f"echo: {MASK}"


# ------------------------------------------------------------------------------------------------ one redactor
MASKING_NAMES = ("scrub", "redact", "mask", "sanitiz", "censor", "obfuscat", "origin", "secrets_of", "hide")
MASK_LITERALS = ("***", "<redacted>", "[redacted]", "(path not shown)", "REDACTED")
# Regular expressions over URLs that are validators (fullmatch/match), never used to rewrite a text.
URL_VALIDATORS = {
    ("engine/names.py", "_HTTP_URL"),
    ("engine/alerting/providers.py", "_PROXY_URL"),
    ("cronjob/flags.py", "_GIT_URL"),
}


def _sources() -> list[Path]:
    return sorted(
        p
        for package in ("engine", "cronjob")
        for p in (ROOT / package).rglob("*.py")
        if p != ROOT / "engine" / "redact.py"
    )


def test_no_other_masking_helper_remains() -> None:
    """Every redaction goes through `engine.redact`: no function of another module masks or cuts URLs, no
    other mask string exists, and the only regular expressions over URLs are validators."""
    found: list[str] = []
    for path in _sources():
        rel = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text(encoding="utf-8"))
        url_patterns: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                if any(word in node.name.lower() for word in MASKING_NAMES):
                    found.append(f"{rel}:{node.lineno}: function {node.name}")
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                if any(literal in node.value for literal in MASK_LITERALS):
                    found.append(f"{rel}:{node.lineno}: mask literal {node.value!r}")
            elif isinstance(node, ast.Assign) and isinstance(node.value, ast.Call) and _is_re_compile(node.value):
                pattern = node.value.args[0] if node.value.args else None
                if isinstance(pattern, ast.Constant) and isinstance(pattern.value, str) and "://" in pattern.value:
                    for target in node.targets:
                        name = target.id if isinstance(target, ast.Name) else ast.unparse(target)
                        url_patterns.add(name)
                        if (rel, name) not in URL_VALIDATORS:
                            found.append(f"{rel}:{node.lineno}: regular expression over URLs {name}")
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr in ("sub", "subn")
            ):
                owner = node.func.value
                if isinstance(owner, ast.Name) and owner.id in url_patterns:
                    found.append(f"{rel}:{node.lineno}: {owner.id}.{node.func.attr} rewrites URLs")
    assert not found, "masking outside engine/redact.py:\n" + "\n".join(found)


def _is_re_compile(call: ast.Call) -> bool:
    return (
        isinstance(call.func, ast.Attribute)
        and call.func.attr == "compile"
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == "re"
    )


def test_every_caller_uses_the_one_redactor() -> None:
    """The modules that print or write what a remote server answers import it (a new caller must too)."""
    callers = (
        "cronjob/shared/webhooks.py",
        "cronjob/shared/alerts.py",
        "cronjob/shared/prometheus.py",
        "cronjob/git/repo.py",
        "cronjob/kube/lease.py",
        "cronjob/shared/logs.py",
        "cronjob/shared/errors.py",
        "cronjob/cli.py",
        "engine/tick.py",
        "engine/evidence.py",
        "engine/canary_spec.py",
        "engine/analysis/templates.py",
    )
    missing = [
        c
        for c in callers
        if "engine.redact import" not in (ROOT / c).read_text() and ".redact import" not in (ROOT / c).read_text()
    ]
    assert not missing, missing
