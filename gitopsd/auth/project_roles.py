"""Project roles: the policies a project grants to its own roles and their tokens.

A role's lines must name the role itself (`proj:PROJECT:ROLE`), the `applications`
resource and objects inside the project (`PROJECT/...`): a project can only grant
within itself. Such a role's token also implicitly may `get` its own project.
"""

from __future__ import annotations

from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.app.errors import InvalidArgument
from gitopsd.auth.rbac import PolicyError, Rule, parse_line

PROJECT_ROLE_PREFIX = "proj:"


def role_subject(project: str, role: str) -> str:
    return f"{PROJECT_ROLE_PREFIX}{project}:{role}"


def parse_subject(subject: str) -> tuple[str, str] | None:
    """(project, role) for a `proj:PROJECT:ROLE` subject, else None."""
    if not subject.startswith(PROJECT_ROLE_PREFIX):
        return None
    project, sep, role = subject.removeprefix(PROJECT_ROLE_PREFIX).partition(":")
    return (project, role) if sep and project and role else None


def _role_rule(project: str, role: str, line: str, where: str) -> Rule | None:
    parsed = parse_line(line, where)
    if parsed is None:
        return None
    if not isinstance(parsed, Rule):
        raise PolicyError(f"{where}: 'g' lines are not allowed in a project role")
    subject = role_subject(project, role)
    if parsed.subject != subject:
        raise PolicyError(f"{where}: the subject must be {subject!r}, not {parsed.subject!r}")
    if parsed.resource != "applications":
        raise PolicyError(
            f"{where}: a project role can only grant on 'applications', not {parsed.resource!r}"
        )
    if not parsed.object.startswith(f"{project}/"):
        raise PolicyError(
            f"{where}: the object must be inside project {project!r} ({project}/APP or {project}/*), "
            f"not {parsed.object!r}"
        )
    return parsed


def validate_roles(project: projpb.AppProject) -> None:
    """InvalidArgument naming the first bad role policy line."""
    name = project.metadata.name
    seen: set[str] = set()
    for i, role in enumerate(project.spec.roles):
        if role.name in seen:
            raise InvalidArgument(f"spec.roles[{i}].name: duplicate role {role.name!r}")
        seen.add(role.name)
        if not role.name or ":" in role.name or "," in role.name or role.name.strip() != role.name:
            raise InvalidArgument(f"spec.roles[{i}].name: {role.name!r} is not a valid role name")
        for j, line in enumerate(role.policies):
            try:
                _role_rule(name, role.name, line, f"spec.roles[{i}].policies[{j}]")
            except PolicyError as exc:
                raise InvalidArgument(str(exc)) from None


def role_rules(project: projpb.AppProject, role_name: str) -> list[Rule]:
    """The rules a role's token carries; lines that do not stay inside the project are ignored
    (they are refused when the project is written, but a stored one must not grant anything)."""
    name = project.metadata.name
    rules = [Rule(role_subject(name, role_name), "projects", "get", name, True)]
    for role in project.spec.roles:
        if role.name != role_name:
            continue
        for line in role.policies:
            try:
                rule = _role_rule(name, role_name, line, "policy")
            except PolicyError:
                continue
            if rule is not None:
                rules.append(rule)
    return rules


def find_role(project: projpb.AppProject, role_name: str) -> projpb.ProjectRole | None:
    for role in project.spec.roles:
        if role.name == role_name:
            return role
    return None
