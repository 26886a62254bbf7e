"""SettingsService: the daemon's public settings (Argo CD's /api/v1/settings), read from its
configuration. Only what a client needs to know; never a secret (no webhook secret, no policy text)."""

from __future__ import annotations

from collections.abc import Callable

import grpc

from gitopsd import __version__
from gitopsd.api.gitopsd.v1 import common_pb2, settings_pb2, settings_pb2_grpc
from gitopsd.engine.tracking import TRACKING_ANNOTATION
from gitopsd.server.config import Config
from gitopsd.server.servicers.base import rpc


def _known_type_lines(value: object) -> list[str]:
    if not isinstance(value, list):
        return [] if not value else ["(given as YAML text)"]
    return [
        f"{f.get('field', '')}={f.get('type', '')}" for f in value if isinstance(f, dict)
    ]


class SettingsServicer(settings_pb2_grpc.SettingsServiceServicer):
    def __init__(self, config: Config, url: Callable[[], str] = lambda: "") -> None:
        self._config = config
        self._url = url

    @rpc
    def Get(self, request: common_pb2.Empty, context: grpc.ServicerContext) -> settings_pb2.Settings:
        cfg = self._config
        logins = cfg.auth.admin_enabled or any(
            "login" in [c.strip() for c in caps.split(",")] for caps in cfg.auth.accounts.values()
        )
        reply = settings_pb2.Settings(
            url=self._url(),
            app_label_key=TRACKING_ANNOTATION,
            tracking_method="annotation",
            user_logins_disabled=not logins,
            login_max_failures=cfg.auth.login_max_failures,
            login_failure_window=cfg.auth.login_failure_window,
            version=__version__,
        )
        for group_kind, custom in sorted(cfg.resource_customizations.items()):
            override = reply.resource_overrides[group_kind]
            override.health_lua = str(custom.get("health.lua") or "")
            override.known_type_fields.extend(_known_type_lines(custom.get("knownTypeFields")))
        return reply
