"""The query template language: the subset of Go's `text/template` Flagger HEAD's queries use.

Only HEAD's functions (`name`, `namespace`, `target`, `service`, `ingress`, `route`, `interval`) and
`variables.KEY` are substituted, plus `{{/* comments */}}` and the `{{-`/`-}}` trim markers; cronary is a
substitution engine, not a template language. A substituted variable may not leave the PromQL string (or
token) it is placed in, which `render_template` checks by scanning the text before it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from ..errors import SpecError
from .promql import collapse_whitespace

_FUNCTIONS = ("name", "namespace", "target", "service", "ingress", "route", "interval")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_VARIABLE = re.compile(r"^variables\.([A-Za-z_][A-Za-z0-9_]*)$")
_TRIM = " \t\r\n"  # Go text/template's trim markers remove these (ASCII space, tab, CR, LF)
_SUPPORTED = "{{ name }}, {{ namespace }}, {{ target }}, {{ service }}, {{ ingress }}, {{ route }}, {{ interval }}, {{ variables.KEY }}"


@dataclass(frozen=True)
class _Action:
    """`{{ function }}` (key None) or `{{ variables.key }}`; `source` is the action as written."""

    function: str
    key: str | None
    source: str
    line: int


@lru_cache(maxsize=4096)
def parse_template(text: str, path: str = "query") -> tuple[str | _Action, ...]:
    """Split a query template into literal text and actions. Only HEAD's functions and `variables.KEY` are
    accepted (plus `{{/* comments */}}` and the `{{-`/`-}}` trim markers); anything else is a SpecError
    naming the action — cronary is a substitution engine, not a template language."""
    if not isinstance(text, str):
        raise SpecError(path, f"must be a string, got {text!r}")
    parts: list[str | _Action] = []
    pos = 0
    while True:
        start = text.find("{{", pos)
        if start < 0:
            parts.append(text[pos:])
            break
        line = text.count("\n", 0, start) + 1
        literal = text[pos:start]
        inner = start + 2
        if text[inner : inner + 1] == "-" and text[inner + 1 : inner + 2] in tuple(_TRIM):
            literal = literal.rstrip(_TRIM)
            inner += 2
        trim_right = False
        if text.startswith("/*", inner):  # a comment: `{{/* … */}}`, possibly with trim markers
            close = text.find("*/", inner + 2)
            if close < 0:
                raise SpecError(path, f"template line {line}: unclosed comment")
            after = close + 2
            if text.startswith("}}", after):
                end = after + 2
            elif text[after : after + 1] in tuple(_TRIM) and text.startswith("-}}", after + 1):
                end, trim_right = after + 4, True
            else:
                raise SpecError(path, f"template line {line}: comment ends without closing delimiter")
            action: _Action | None = None
        else:
            close = text.find("}}", inner)
            if close < 0:
                raise SpecError(path, f"template line {line}: unclosed action {text[start : start + 40]!r}")
            body = text[inner:close]
            if len(body) >= 2 and body.endswith("-") and body[-2] in _TRIM:
                body, trim_right = body[:-1], True
            end = close + 2
            action = _parse_action(body.strip(_TRIM), text[start:end], line, path)
        parts.append(literal)
        if action is not None:
            parts.append(action)
        pos = end
        if trim_right:
            while pos < len(text) and text[pos] in _TRIM:
                pos += 1
    return tuple(p for p in parts if not (isinstance(p, str) and p == ""))


def _parse_action(body: str, source: str, line: int, path: str) -> _Action:
    if body in _FUNCTIONS:
        return _Action(body, None, source, line)
    variable = _VARIABLE.match(body)
    if variable:
        return _Action("variables", variable.group(1), source, line)
    where = f"template line {line}: {source}"
    if body == "variables":
        raise SpecError(path, f"{where}: use {{{{ variables.KEY }}}} to read one of the metric's templateVariables")
    if body.startswith("."):
        raise SpecError(
            path,
            f"{where}: fields like {{{{ .Namespace }}}} are the 2019 template syntax; Flagger >= 1.0 and cronary use functions: {_SUPPORTED}",
        )
    if _IDENT.match(body):
        raise SpecError(path, f'{where}: function "{body}" not defined (supported: {_SUPPORTED})')
    raise SpecError(path, f"{where}: unsupported template action; cronary only substitutes {_SUPPORTED}")


# Where in PromQL a substituted value lands, found by scanning the text before it.
_OUTSIDE, _COMMENT = "", "#"
_TOKEN_VALUE = re.compile(r"^[A-Za-z0-9_.:]*$")


def _scan(state: tuple[str, bool], chunk: str) -> tuple[str, bool]:
    """PromQL lexical state after `chunk`: (`"`, `'`, `` ` ``, `#` or "" for outside, in-escape)."""
    quote, escaped = state
    for char in chunk:
        if quote == _OUTSIDE:
            if char in "\"'`":
                quote = char
            elif char == "#":
                quote = _COMMENT
        elif quote == _COMMENT:
            if char == "\n":
                quote = _OUTSIDE
        elif escaped:
            escaped = False
        elif char == "\\" and quote != "`":
            escaped = True
        elif char == quote:
            quote = _OUTSIDE
    return quote, escaped


def _check_variable(path: str, action: _Action, value: str, context: str) -> None:
    where = f"template line {action.line}: {action.source}"
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        raise SpecError(path, f"{where}: variable {action.key!r} contains a control character")
    if context in ('"', "'"):
        if context in value or "\\" in value:
            raise SpecError(
                path,
                f"{where}: variable {action.key!r} = {value!r} would end the {context}…{context} string it is placed in (quotes and backslashes are not allowed there)",
            )
    elif context == "`":
        if "`" in value:
            raise SpecError(
                path, f"{where}: variable {action.key!r} = {value!r} would end the `…` string it is placed in"
            )
    elif context == _OUTSIDE and not _TOKEN_VALUE.match(value):
        raise SpecError(
            path,
            f"{where}: variable {action.key!r} = {value!r} is placed outside a string, where only letters, digits, '_', '.' and ':' are allowed (put it inside quotes)",
        )


def render_template(
    parts: tuple[str | _Action, ...], values: Mapping[str, str], variables: Mapping[str, str], path: str
) -> str:
    """Substitute `values` (the functions) and `variables` into parsed `parts`, whitespace collapsed; SpecError
    for a missing variable or one that would leave the string (or token) it is placed in."""
    out: list[str] = []
    state: tuple[str, bool] = (_OUTSIDE, False)
    for part in parts:
        if isinstance(part, str):
            out.append(part)
            state = _scan(state, part)
            continue
        if part.key is None:
            value = values[part.function]
        else:
            if part.key not in variables:
                defined = ", ".join(sorted(variables)) or "none"
                raise SpecError(
                    path,
                    f'template line {part.line}: {part.source}: map has no entry for key "{part.key}" (templateVariables defines: {defined})',
                )
            value = variables[part.key]
            _check_variable(path, part, value, state[0])
        out.append(value)
        state = _scan(state, value)
    return collapse_whitespace("".join(out))
