"""GitHub's REST API (and what copies it: GitHub Enterprise, Gitea's and Forgejo's `/api/v1` answer the same
calls for pull requests): list the open pull requests of a base branch, open one, update its title and body.

    GET   {api}/repos/{owner}/{repo}/pulls?state=open&base={base}&per_page=100&page=N
    POST  {api}/repos/{owner}/{repo}/pulls          {"title", "head", "base", "body"}
    PATCH {api}/repos/{owner}/{repo}/pulls/{number} {"title", "body"}

The token goes in the Authorization header only; an error names the API by its origin and is redacted of the
token (`engine.redact`), whatever the server echoed.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from cronjob.git.hosts.host import HostError, PullRequest
from cronjob.shared.options import PullRequestOptions
from engine.redact import origin, redact

_PAGE = 100
_MAX_PAGES = 50  # 5,000 open pull requests into one branch is beyond any shard


@dataclass
class GitHub:
    """Pull requests of one repository into one base branch, through GitHub's REST API."""

    api_url: str
    repository: str  # OWNER/NAME
    base: str
    token: str | None = field(default=None, repr=False)
    timeout_seconds: float = 10.0

    @staticmethod
    def of(options: PullRequestOptions, base: str, timeout_seconds: float) -> GitHub:
        return GitHub(options.api_url.rstrip("/"), options.repository, base, options.token, timeout_seconds)

    def open_pull_requests(self) -> Mapping[str, PullRequest]:
        out: dict[str, PullRequest] = {}
        for page in range(1, _MAX_PAGES + 1):
            items = self._call(
                "GET", "pulls", params={"state": "open", "base": self.base, "per_page": _PAGE, "page": page}
            )
            if not isinstance(items, list):
                raise HostError(f"{origin(self.api_url)}: the list of pull requests is not a JSON list")
            for item in items:
                pull = _pull_request(item)
                out.setdefault(pull.branch, pull)
            if len(items) < _PAGE:
                break
        return out

    def propose(self, branch: str, title: str, body: str) -> PullRequest:
        owner = self.repository.split("/", 1)[0]
        found = self._call("GET", "pulls", params={"state": "open", "base": self.base, "head": f"{owner}:{branch}"})
        existing = [p for p in map(_pull_request, found if isinstance(found, list) else []) if p.branch == branch]
        if existing:
            return _pull_request(
                self._call("PATCH", f"pulls/{existing[0].number}", json={"title": title, "body": body})
            )
        return _pull_request(
            self._call("POST", "pulls", json={"title": title, "head": branch, "base": self.base, "body": body})
        )

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        import requests  # pull-request mode only

        url = f"{self.api_url}/repos/{self.repository}/{path}"
        headers = {"Accept": "application/vnd.github+json", "X-GitHub-Api-Version": "2022-11-28"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        where = f"{method} {origin(self.api_url)} pulls"
        try:
            answer = requests.request(method, url, headers=headers, timeout=self.timeout_seconds, **kwargs)
        except requests.exceptions.RequestException as err:
            raise HostError(f"{where}: {self._line(type(err).__name__ + ': ' + str(err))}") from None
        if not 200 <= answer.status_code < 300:
            raise HostError(f"{where}: HTTP {answer.status_code}: {self._line(_message(answer))}")
        try:
            return answer.json()
        except ValueError:
            raise HostError(f"{where}: the answer is not JSON") from None

    def _line(self, text: str) -> str:
        """`text` on one line, through the one redactor with the API's URL and the token."""
        return " ".join(redact(text, self.api_url, secrets=(self.token,)).split())[:300]


def _message(answer: Any) -> str:
    try:
        doc = answer.json()
    except ValueError:
        return answer.reason or ""
    return str(doc.get("message") or "") if isinstance(doc, dict) else ""


def _pull_request(item: Any) -> PullRequest:
    if not isinstance(item, dict) or not isinstance(item.get("number"), int):
        raise HostError("a pull request in the API's answer has no number")
    head = item.get("head") if isinstance(item.get("head"), dict) else {}
    return PullRequest(
        number=item["number"],
        url=str(item.get("html_url") or ""),
        branch=str(head.get("ref") or ""),
        open=item.get("state") == "open",
    )
