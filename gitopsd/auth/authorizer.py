"""Decides whether a principal may perform (resource, action, object).

Users get the rules of the configured policy through their roles, plus the default
role; `admin` holds role:admin. A project-role token gets only its role's rules, taken from
its project. Those are remembered per role, stamped with the projects' write count
(gitopsd.app.projects.project_writes, the stamp auth_cache.py uses too): any project write
(a role or its policies edited, a role or token deleted, the project deleted) moves the count
as it commits, so the next check reads the project again and an edit takes effect at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from gitopsd.app.errors import NotFound
from gitopsd.app.projects import Projects, project_writes
from gitopsd.auth.accounts import ADMIN, Principal
from gitopsd.auth.project_roles import role_rules
from gitopsd.auth.rbac import ADMIN_ROLE, BUILTIN_RULES, Policy, Rule, decide

# Roles whose rules are remembered at most. Only authenticated role tokens get here, so this
# bounds memory against an unusual number of roles, not against callers; past it, all are dropped.
MAX_REMEMBERED_ROLES = 1024


@dataclass(frozen=True)
class _RoleRules:
    writes: int  # the projects' write count read before the project was
    rules: tuple[Rule, ...] | None  # None: the project does not exist


class Authorizer:
    def __init__(
        self,
        policy: Policy,
        default_role: str,
        projects: Projects,
        writes: Callable[[], int] = project_writes,
    ) -> None:
        self._policy = policy
        self._default_role = default_role
        self._projects = projects
        self._writes = writes
        self._rules: tuple[Rule, ...] = BUILTIN_RULES + policy.rules
        self._lock = threading.Lock()  # the gRPC loop, the HTTP loop and the pool's threads share it
        self._role_rules: dict[tuple[str, str], _RoleRules] = {}

    def _user_subjects(self, subject: str) -> set[str]:
        subjects = self._policy.roles_of(subject)
        if self._default_role:
            subjects |= self._policy.roles_of(self._default_role)
        if subject == ADMIN:
            subjects.add(ADMIN_ROLE)
        return subjects

    def groups_of(self, principal: Principal) -> set[str]:
        """The roles a principal holds (for user info)."""
        if principal.project_role is not None:
            return set()
        return self._user_subjects(principal.subject) - {principal.subject}

    def _rules_of_role(self, project: str, role: str) -> tuple[Rule, ...] | None:
        """The role's rules as its project says now; from memory if no project was written since."""
        key = (project, role)
        writes = self._writes()  # before the read: a write committing meanwhile moves it past this
        with self._lock:
            known = self._role_rules.get(key)
        if known is not None and known.writes == writes:
            return known.rules
        try:
            rules: tuple[Rule, ...] | None = tuple(role_rules(self._projects.get(project), role))
        except NotFound:
            rules = None
        with self._lock:
            if len(self._role_rules) >= MAX_REMEMBERED_ROLES:
                self._role_rules.clear()
            self._role_rules[key] = _RoleRules(writes, rules)
        return rules

    def allowed(self, principal: Principal, resource: str, action: str, obj: str) -> bool:
        role = principal.project_role
        if role is None:
            return decide(self._rules, self._user_subjects(principal.subject), resource, action, obj)
        rules = self._rules_of_role(*role)
        return rules is not None and decide(rules, {principal.subject}, resource, action, obj)
