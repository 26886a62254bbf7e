"""`gitopsd proj role ...`: project roles and their tokens (for CI jobs).

A role's policies are Casbin-style lines naming the role itself and objects inside the
project (`p, proj:production:ci, applications, sync, production/*, allow`); the daemon
refuses any other. A token is printed once and never stored; delete-token revokes it.
"""

from __future__ import annotations

import argparse
import time

from gitopsd.api.gitopsd.v1 import common_pb2
from gitopsd.api.gitopsd.v1 import project_pb2 as projpb
from gitopsd.cli.auth_cmd import parse_duration
from gitopsd.cli.client import Client, CLIError
from gitopsd.cli.output import print_fields, print_table


def add_parsers(
    psub: argparse._SubParsersAction[argparse.ArgumentParser], common: argparse.ArgumentParser
) -> None:
    role = psub.add_parser("role", help="manage project roles and their tokens")
    rsub = role.add_subparsers(dest="role_command", metavar="COMMAND", required=True)

    create = rsub.add_parser("create", parents=[common], help="create a project role")
    create.add_argument("project")
    create.add_argument("role")
    create.add_argument("--description", default="", help="what the role is for")
    create.add_argument(
        "-p",
        "--policy",
        action="append",
        default=[],
        help="a policy line, e.g. 'p, proj:PROJECT:ROLE, applications, sync, PROJECT/*, allow' (repeatable)",
    )
    create.set_defaults(func=cmd_create)

    delete = rsub.add_parser(
        "delete", parents=[common], help="delete a project role (its tokens stop working)"
    )
    delete.add_argument("project")
    delete.add_argument("role")
    delete.set_defaults(func=cmd_delete)

    lst = rsub.add_parser("list", parents=[common], help="list a project's roles")
    lst.add_argument("project")
    lst.set_defaults(func=cmd_list)

    get = rsub.add_parser("get", parents=[common], help="show a role: policies and tokens (ids only)")
    get.add_argument("project")
    get.add_argument("role")
    get.set_defaults(func=cmd_get)

    for name, func, verb in (
        ("add-policy", cmd_add_policy, "add"),
        ("remove-policy", cmd_remove_policy, "remove"),
    ):
        p = rsub.add_parser(name, parents=[common], help=f"{verb} a policy line")
        p.add_argument("project")
        p.add_argument("role")
        p.add_argument("-p", "--policy", required=True, help="the whole policy line")
        p.set_defaults(func=func)

    tok = rsub.add_parser("create-token", parents=[common], help="issue a token for a role (printed once)")
    tok.add_argument("project")
    tok.add_argument("role")
    tok.add_argument(
        "-e", "--expires-in", default="0", help="lifetime, e.g. 24h or 30d (default 0: no expiry)"
    )
    tok.add_argument("--id", default="", help="token id (default: a random UUID)")
    tok.add_argument(
        "-t", "--token-only", action="store_true", help="print the token alone (the default output)"
    )
    tok.set_defaults(func=cmd_create_token)

    dtok = rsub.add_parser("delete-token", parents=[common], help="revoke a role's token by id")
    dtok.add_argument("project")
    dtok.add_argument("role")
    dtok.add_argument("id")
    dtok.set_defaults(func=cmd_delete_token)


def _project(client: Client, name: str) -> projpb.AppProject:
    return client.projects.Get(common_pb2.NameRequest(name=name), timeout=client.timeout)


def _role(project: projpb.AppProject, name: str) -> projpb.ProjectRole:
    for role in project.spec.roles:
        if role.name == name:
            return role
    raise CLIError(f"project '{project.metadata.name}' has no role '{name}'")


def _save(client: Client, project: projpb.AppProject) -> None:
    client.projects.Update(projpb.UpdateProjectRequest(project=project), timeout=client.timeout)


def cmd_create(args: argparse.Namespace, client: Client) -> int:
    project = _project(client, args.project)
    if any(r.name == args.role for r in project.spec.roles):
        raise CLIError(f"project '{args.project}' already has a role '{args.role}'")
    project.spec.roles.add(name=args.role, description=args.description, policies=args.policy)
    _save(client, project)
    print(f"role '{args.role}' created in project '{args.project}'")
    return 0


def cmd_delete(args: argparse.Namespace, client: Client) -> int:
    project = _project(client, args.project)
    role = _role(project, args.role)
    project.spec.roles.remove(role)
    _save(client, project)
    print(f"role '{args.role}' deleted from project '{args.project}'")
    return 0


def cmd_list(args: argparse.Namespace, client: Client) -> int:
    project = _project(client, args.project)
    print_table(["ROLE-NAME", "DESCRIPTION"], [(r.name, r.description) for r in project.spec.roles])
    return 0


def _stamp(seconds: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(seconds)) if seconds else "never"


def cmd_get(args: argparse.Namespace, client: Client) -> int:
    role = _role(_project(client, args.project), args.role)
    print_fields([("Role Name", role.name), ("Description", role.description), ("Policies", "")])
    for line in role.policies:
        print(f"  {line}")
    print("JWT Tokens:")
    print_table(
        ["ID", "ISSUED-AT", "EXPIRES-AT"], [(t.id, _stamp(t.iat), _stamp(t.exp)) for t in role.jwt_tokens]
    )
    return 0


def cmd_add_policy(args: argparse.Namespace, client: Client) -> int:
    project = _project(client, args.project)
    role = _role(project, args.role)
    if args.policy not in role.policies:
        role.policies.append(args.policy)
        _save(client, project)
    print(f"policy added to role '{args.role}'")
    return 0


def cmd_remove_policy(args: argparse.Namespace, client: Client) -> int:
    project = _project(client, args.project)
    role = _role(project, args.role)
    wanted = [p.strip() for p in args.policy.split(",")]
    keep = [p for p in role.policies if [x.strip() for x in p.split(",")] != wanted]
    if len(keep) == len(role.policies):
        raise CLIError(f"role '{args.role}' has no such policy")
    del role.policies[:]
    role.policies.extend(keep)
    _save(client, project)
    print(f"policy removed from role '{args.role}'")
    return 0


def cmd_create_token(args: argparse.Namespace, client: Client) -> int:
    reply = client.projects.CreateToken(
        projpb.CreateProjectTokenRequest(
            project=args.project, role=args.role, expires_in=parse_duration(args.expires_in), id=args.id
        ),
        timeout=client.timeout,
    )
    print(reply.token)
    return 0


def cmd_delete_token(args: argparse.Namespace, client: Client) -> int:
    client.projects.DeleteToken(
        projpb.DeleteProjectTokenRequest(project=args.project, role=args.role, id=args.id),
        timeout=client.timeout,
    )
    print(f"token '{args.id}' of role '{args.role}' revoked")
    return 0
