"""The route table covers the API: every unary RPC of every gitopsd service has a JSON route or is
listed as gRPC-only with a reason, every streaming one has a stream route, and every route names
an RPC that exists with fields that exist (a typo would otherwise only show as a 400 at run time)."""

from __future__ import annotations

import importlib
import pkgutil

import gitopsd.api.gitopsd.v1 as api
from gitopsd.server.grpc_server import RENDERER_SERVICE
from gitopsd.server.permissions import RULES
from gitopsd.server.rest.routes import GRPC_ONLY, ROUTES

# Every service of the proto the daemon serves (the Renderer is the sidecars').
SERVICES = [
    service
    for info in pkgutil.iter_modules(api.__path__)
    if info.name.endswith("_pb2")
    for service in importlib.import_module(f"{api.__name__}.{info.name}").DESCRIPTOR.services_by_name.values()
    if service.full_name != RENDERER_SERVICE
]
METHODS = {f"/{s.full_name}/{m.name}": m for s in SERVICES for m in s.methods}


def _has_field(descriptor, dotted: str) -> bool:  # type: ignore[no-untyped-def]
    for part in dotted.split("."):
        field = next((f for f in descriptor.fields if part in (f.name, f.json_name)), None)
        if field is None:
            return False
        descriptor = field.message_type
    return True


def test_every_rpc_has_a_route_or_is_grpc_only() -> None:
    routed = {r.rpc for r in ROUTES}
    missing = [name for name in METHODS if name not in routed and name not in GRPC_ONLY]
    assert missing == [], (
        f"RPCs without a JSON route (add one to routes.py, or to GRPC_ONLY with why): {missing}"
    )
    assert not routed & set(GRPC_ONLY), "an RPC is both routed and listed as gRPC-only"


def test_routes_name_real_rpcs_and_fields() -> None:
    for route in ROUTES:
        assert route.rpc in METHODS, route
        assert route.rpc in RULES, f"{route.rpc} has no access rule"
        method = METHODS[route.rpc]
        assert route.stream == method.server_streaming, route
        request = method.input_type
        for segment in route.segments:
            if segment.startswith("{"):
                assert _has_field(request, segment[1:-1].removesuffix("=**")), (route.path, segment)
        if route.body not in ("", "*"):
            assert _has_field(request, route.body), (route.path, route.body)
        for target in (*route.query.values(), *route.defaults):
            assert _has_field(request, target), (route.path, target)


def test_no_two_routes_share_a_method_and_path() -> None:
    seen = [(r.method, r.path) for r in ROUTES]
    assert len(seen) == len(set(seen))
