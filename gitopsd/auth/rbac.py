"""RBAC policy in Argo CD's Casbin-style CSV lines, and its evaluation.

    p, SUBJECT, RESOURCE, ACTION, OBJECT[, allow|deny]
    g, USER-OR-GROUP, ROLE

Subjects are user names, roles (`role:ci`) or project roles (`proj:PROJECT:ROLE`).
RESOURCE, ACTION and OBJECT are globs (`*`, `production/*`). A matching deny wins
over any allow; nothing matching means denied. Built-in: `role:admin` may do
everything, `role:readonly` may `get` everything.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from fnmatch import fnmatchcase

RESOURCES = ("applications", "projects", "clusters", "repositories", "accounts", "logs")
ACTIONS = ("get", "create", "update", "delete", "sync", "override", "action")
# A resource action's RBAC action, as Argo CD's: action/GROUP/KIND/ACTION (e.g. action/apps/Deployment/restart).
RESOURCE_ACTION_PREFIX = "action/"
ADMIN_ROLE = "role:admin"
READONLY_ROLE = "role:readonly"


class PolicyError(ValueError):
    pass


@dataclass(frozen=True)
class Rule:
    subject: str
    resource: str
    action: str
    object: str
    allow: bool

    def matches(self, resource: str, action: str, obj: str) -> bool:
        return (
            fnmatchcase(resource, self.resource)
            and fnmatchcase(action, self.action)
            and (self.object == "*" or fnmatchcase(obj, self.object))
        )


BUILTIN_RULES = (
    Rule(ADMIN_ROLE, "*", "*", "*", True),
    Rule(READONLY_ROLE, "*", "get", "*", True),
)


def _check_glob(value: str, known: tuple[str, ...], what: str, where: str) -> None:
    if what == "action" and value.startswith(RESOURCE_ACTION_PREFIX):
        return
    if value != "*" and not any(fnmatchcase(k, value) for k in known):
        raise PolicyError(f"{where}: unknown {what} {value!r} (one of {', '.join(known)}, or a glob)")


def parse_line(line: str, where: str) -> Rule | tuple[str, str] | None:
    """A `p` line as a Rule, a `g` line as (member, role), a blank or comment as None."""
    text = line.strip()
    if not text or text.startswith("#"):
        return None
    parts = [p.strip() for p in text.split(",")]
    if parts[0] == "g":
        if len(parts) != 3 or not all(parts[1:]):
            raise PolicyError(f"{where}: expected 'g, MEMBER, ROLE'")
        return parts[1], parts[2]
    if parts[0] != "p":
        raise PolicyError(f"{where}: a policy line starts with 'p' or 'g', not {parts[0]!r}")
    if len(parts) not in (5, 6) or not all(parts[1:5]):
        raise PolicyError(f"{where}: expected 'p, SUBJECT, RESOURCE, ACTION, OBJECT[, allow|deny]'")
    effect = parts[5] if len(parts) == 6 else "allow"
    if effect not in ("allow", "deny"):
        raise PolicyError(f"{where}: effect must be allow or deny, not {effect!r}")
    _check_glob(parts[2], RESOURCES, "resource", where)
    _check_glob(parts[3], ACTIONS, "action", where)
    return Rule(parts[1], parts[2], parts[3], parts[4], effect == "allow")


@dataclass(frozen=True)
class Policy:
    rules: tuple[Rule, ...]
    groups: tuple[tuple[str, str], ...]

    @classmethod
    def parse(cls, text: str, source: str = "rbac.policy") -> Policy:
        rules: list[Rule] = []
        groups: list[tuple[str, str]] = []
        for n, line in enumerate(text.splitlines(), start=1):
            parsed = parse_line(line, f"{source} line {n}")
            if isinstance(parsed, Rule):
                rules.append(parsed)
            elif parsed is not None:
                groups.append(parsed)
        return cls(tuple(rules), tuple(groups))

    def roles_of(self, subject: str) -> set[str]:
        """subject and every role it holds through `g` lines, transitively."""
        seen = {subject}
        frontier = [subject]
        while frontier:
            member = frontier.pop()
            for m, role in self.groups:
                if m == member and role not in seen:
                    seen.add(role)
                    frontier.append(role)
        return seen


def decide(rules: Iterable[Rule], subjects: set[str], resource: str, action: str, obj: str) -> bool:
    """Deny wins; otherwise any allow; otherwise denied."""
    allowed = False
    for rule in rules:
        if rule.subject in subjects and rule.matches(resource, action, obj):
            if not rule.allow:
                return False
            allowed = True
    return allowed
