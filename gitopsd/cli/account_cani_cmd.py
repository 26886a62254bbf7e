"""`gitopsd account can-i ACTION RESOURCE SUBRESOURCE`: whether the caller may, in argocd's argument
order (`gitopsd account can-i sync applications 'default/*'`); prints yes or no."""

from __future__ import annotations

import argparse
from typing import Any

from gitopsd.api.gitopsd.v1 import session_pb2 as sesspb
from gitopsd.api.gitopsd.v1 import session_pb2_grpc
from gitopsd.cli.client import Client


def add_parser(asub: Any, common: argparse.ArgumentParser) -> None:
    cani = asub.add_parser("can-i", parents=[common], help="whether you may do ACTION on RESOURCE SUBRESOURCE")
    cani.add_argument("action", help="get, create, update, delete, sync, override or action/GROUP/KIND/ACTION")
    cani.add_argument("resource", help="applications, projects, clusters, repositories, accounts or logs")
    cani.add_argument("subresource", help="the object: PROJECT/APP for applications, a name or URL, or '*'")
    cani.set_defaults(func=cmd_can_i)


def cmd_can_i(args: argparse.Namespace, client: Client) -> int:
    reply = session_pb2_grpc.AccountServiceStub(client.channel).CanI(
        sesspb.CanIRequest(resource=args.resource, action=args.action, subresource=args.subresource),
        timeout=client.timeout,
    )
    print(reply.value)
    return 0
