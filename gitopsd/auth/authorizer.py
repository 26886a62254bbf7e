"""Decides whether a principal may perform (resource, action, object).

Users get the rules of the configured policy through their roles, plus the default
role; `admin` holds role:admin. A project-role token gets only its role's rules,
read from the project at every call, so editing the role takes effect at once.
"""

from __future__ import annotations

from gitopsd.app.errors import NotFound
from gitopsd.app.projects import Projects
from gitopsd.auth.accounts import ADMIN, Principal
from gitopsd.auth.project_roles import role_rules
from gitopsd.auth.rbac import ADMIN_ROLE, BUILTIN_RULES, Policy, Rule, decide


class Authorizer:
    def __init__(self, policy: Policy, default_role: str, projects: Projects) -> None:
        self._policy = policy
        self._default_role = default_role
        self._projects = projects
        self._rules: tuple[Rule, ...] = BUILTIN_RULES + policy.rules

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

    def allowed(self, principal: Principal, resource: str, action: str, obj: str) -> bool:
        role = principal.project_role
        if role is None:
            return decide(self._rules, self._user_subjects(principal.subject), resource, action, obj)
        try:
            project = self._projects.get(role[0])
        except NotFound:
            return False
        return decide(role_rules(project, role[1]), {principal.subject}, resource, action, obj)
