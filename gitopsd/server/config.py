"""The daemon's settings: one place, every key with a default.

Precedence, lowest to highest: defaults, the config file (YAML, --config),
GITOPSD_* environment variables, command-line flags. Each key's environment
variable is its dotted path upper-cased with '_' (reconcile.interval ->
GITOPSD_RECONCILE_INTERVAL). Unknown keys and wrong types are errors that name
the key, so a typo never silently falls back to a default.
"""

from __future__ import annotations

import dataclasses
import os
import re
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from gitopsd.engine.schema import KnownTypeFields
from gitopsd.server.customizations import Customizations, load_customizations
from gitopsd.sources.render_cache import DEFAULT_CACHE_MAX_BYTES, DEFAULT_CACHE_SIZE


class ConfigError(Exception):
    pass


@dataclass
class ReconcileConfig:
    # Seconds between polls of every application (Argo CD's timeout.reconciliation).
    interval: int = 180
    # Up to this many seconds added at random per app, so apps do not all fire at once.
    jitter: int = 30
    # Worker threads comparing applications (and starting their automated syncs).
    workers: int = 4
    # Sync operations running at once (Argo CD's --operation-processors); more wait for their turn.
    operation_workers: int = 10
    # Seconds `app delete --cascade` waits for the cluster to remove the app's objects (finalizers,
    # grace periods); if some remain the application is kept and the answer names them.
    delete_timeout: int = 45


@dataclass
class RenderConfig:
    timeout: int = 90
    # Combined bytes of repository files read for one render, and of its output.
    max_repo_bytes: int = 10 * 1024 * 1024
    # The most one repository may put on disk: one fetch's pack, one commit's files. Bigger: refused.
    max_fetch_bytes: int = 1024 * 1024 * 1024
    max_output_bytes: int = 10 * 1024 * 1024
    # Memory of each render child process (kubectl kustomize, Helm workers), enforced by the kernel.
    max_memory_bytes: int = 1024 * 1024 * 1024
    # Helm valueFiles given as URLs are refused unless this is true.
    allow_remote_value_files: bool = False
    # Rendered manifests kept in memory: at most this many entries (one per application and commit)
    # and this many bytes of output, least recently used out first.
    cache_size: int = DEFAULT_CACHE_SIZE
    cache_max_bytes: int = DEFAULT_CACHE_MAX_BYTES


@dataclass
class SidecarsConfig:
    # Renderer endpoints (unix:///path.sock or host:port). Empty: the daemon starts its own.
    helm: str = ""
    kustomize: str = ""
    # The Jsonnet evaluator of Directory sources (gitopsd-jsonnet).
    jsonnet: str = ""


@dataclass
class CmpConfig:
    """Argo CD Config Management Plugins, run by the gitopsd-cmp sidecar the daemon starts."""

    # A ConfigManagementPlugin plugin.yaml, or a directory of them; empty: no CMP sidecar.
    path: str = ""


METRICS_AUTH_MODES = ("non-loopback", "always", "never")


@dataclass
class MetricsConfig:
    # Who must send a token (Authorization: Bearer, a session or API token of an account allowed to
    # get every application) to read GET /metrics: clients not on loopback (the default), everyone,
    # or nobody (when the network already fences the listener).
    auth: str = "non-loopback"


@dataclass
class WebhookConfig:
    """Shared secrets of POST /api/webhook, one per provider (empty: that provider is not checked).

    The keys follow Argo CD's argocd-secret webhook.* keys; the environment (e.g.
    GITOPSD_WEBHOOK_GITHUB_SECRET) keeps them out of the config file."""

    # Bodies larger than this are refused with 413 before they are read.
    max_body_bytes: int = 1024 * 1024
    # Seconds the HTTP listener waits for each read from a client before answering 408.
    read_timeout: int = 10
    # GitHub: HMAC-SHA256 of the body in X-Hub-Signature-256.
    github_secret: str = ""
    # GitLab: compared with the X-Gitlab-Token header.
    gitlab_secret: str = ""
    # Bitbucket Cloud: the webhook's UUID, compared with X-Hook-UUID (as Argo CD's
    # webhook.bitbucket.uuid), and/or the webhook secret: HMAC-SHA256 in X-Hub-Signature.
    bitbucket_uuid: str = ""
    bitbucket_secret: str = ""
    # Bitbucket Server / Data Center: HMAC-SHA256 in X-Hub-Signature.
    bitbucketserver_secret: str = ""
    # Gogs and Gitea: HMAC-SHA256 (hex) in X-Gogs-Signature / X-Gitea-Signature.
    gogs_secret: str = ""
    # Azure DevOps: the basic-auth user name and password of the service hook.
    azuredevops_username: str = ""
    azuredevops_password: str = ""


@dataclass
class HttpConfig:
    """Limits of the HTTP listener (http_listen) against slow and greedy clients."""

    # Seconds a client has to send a whole request head (request line and headers), counted from
    # the connection (or the first byte after a keep-alive pause); then the connection is closed.
    # Each read within it may also wait at most webhook.read_timeout seconds.
    header_timeout: int = 10
    # Open connections one client address may hold; more get 429 and are closed.
    max_connections_per_client: int = 16
    # Open connections in all. At the cap the one that has waited longest for a request head (or
    # idled longest between requests) is closed to make room; a new one is refused (503) only when
    # every connection is inside a request.
    max_connections: int = 256
    # Serve the listener over TLS with the daemon's certificate (tls.cert_file, or the self-signed
    # one of DATA_DIR/tls). Without it, a non-loopback http_listen is refused unless
    # tls.allow_plaintext_non_loopback: tokens and passwords of the JSON API would cross in clear.
    tls: bool = False
    # The largest JSON API request body (calls without a token: 64 KiB); more gets 413.
    max_body_bytes: int = 4 * 1024 * 1024
    # The dashboard's address as users reach it (e.g. https://gitops.example.com behind a reverse
    # proxy): `app get` prints PUBLIC_URL/applications/NAME. Empty: the listener's own address.
    public_url: str = ""


@dataclass
class AuthConfig:
    """Local accounts and sessions (see the README's Security section)."""

    # Lifetime of a login session token, seconds (Argo CD: 24h).
    session_ttl: int = 24 * 3600
    # The built-in admin account (role:admin); false disables it and its tokens.
    admin_enabled: bool = True
    # Local users: name -> capabilities, as Argo CD's accounts.NAME ("login, apiKey").
    # Remove an entry to disable the user and every token it holds.
    accounts: dict[str, str] = field(default_factory=dict)
    # Brute force: this many failed logins for a user within the window lock it for the
    # rest of the window (persisted: restarts do not reset it).
    login_max_failures: int = 5
    login_failure_window: int = 300


@dataclass
class RbacConfig:
    # Casbin-style lines: "p, SUBJECT, RESOURCE, ACTION, OBJECT[, allow|deny]" and "g, USER, ROLE".
    policy: str = ""
    # Role every authenticated user holds in addition to their own (e.g. role:readonly); empty: none.
    default_role: str = ""


@dataclass
class TlsConfig:
    # Serve the gRPC API over TLS (a self-signed certificate in DATA_DIR/tls unless cert_file is set).
    enabled: bool = True
    cert_file: str = ""
    key_file: str = ""
    # Plaintext (enabled: false or serve --plaintext) is refused on non-loopback addresses unless true.
    allow_plaintext_non_loopback: bool = False


@dataclass
class GrpcConfig:
    """The gRPC API server (asyncio: open streams hold no thread)."""

    # Threads running RPC handlers (database, git and cluster work); streams do not hold one.
    workers: int = 32
    # Open streams (Watch) one user or token subject may hold; more are RESOURCE_EXHAUSTED.
    max_streams_per_user: int = 100


@dataclass
class Config:
    # gRPC API address: HOST:PORT (port 0 picks a free one) or unix:///path.sock.
    listen: str = "127.0.0.1:8443"
    # HTTP address for webhooks, /metrics and /healthz (empty: off).
    http_listen: str = "127.0.0.1:8080"
    data_dir: str = "/var/lib/gitopsd"
    log_level: str = "info"
    # logfmt (one `key=value` line per event) or json (one object per line); the same keys either way.
    log_format: str = "logfmt"
    # Seconds in-flight RPCs get to finish on SIGTERM.
    shutdown_grace: int = 10
    # The cluster named in-cluster (https://kubernetes.default.svc): a kubeconfig
    # path, "in-cluster" for the service-account config, or empty for none.
    kubeconfig: str = ""
    reconcile: ReconcileConfig = field(default_factory=ReconcileConfig)
    render: RenderConfig = field(default_factory=RenderConfig)
    sidecars: SidecarsConfig = field(default_factory=SidecarsConfig)
    webhook: WebhookConfig = field(default_factory=WebhookConfig)
    http: HttpConfig = field(default_factory=HttpConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)
    auth: AuthConfig = field(default_factory=AuthConfig)
    rbac: RbacConfig = field(default_factory=RbacConfig)
    tls: TlsConfig = field(default_factory=TlsConfig)
    grpc: GrpcConfig = field(default_factory=GrpcConfig)
    # Renderer plugins: name -> endpoint; an app selects one with source.plugin.name.
    plugins: dict[str, str] = field(default_factory=dict)
    cmp: CmpConfig = field(default_factory=CmpConfig)
    # Per group/kind overrides, as Argo CD's resource.customizations:
    # {"apps/Deployment": {"health.lua": "..."},
    #  "argoproj.io/Rollout": {"knownTypeFields": "- {field: spec.template, type: core/v1/PodTemplateSpec}"}}.
    # knownTypeFields names the built-in type of CRD fields, so compare normalizes them as built-in kinds.
    resource_customizations: dict[str, dict[str, str]] = field(default_factory=dict)
    # Argo CD's resource_customizations/ tree (GROUP/KIND/health.lua files); empty: none. See customizations.py.
    resource_customizations_dir: str = ""
    # The data block of an argocd-cm ConfigMap (or the whole ConfigMap): its resource.customizations keys.
    argocd_cm: dict[str, Any] = field(default_factory=dict)

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)


_LOG_LEVELS = {"debug", "info", "warning", "error"}
_LOG_FORMATS = ("logfmt", "json")


def _coerce(value: Any, typ: Any, key: str) -> Any:
    if typ is bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in {"true", "false", "1", "0", "yes", "no"}:
            return value.lower() in {"true", "1", "yes"}
        raise ConfigError(f"{key}: expected true or false, got {value!r}")
    if typ is int:
        if isinstance(value, bool):
            raise ConfigError(f"{key}: expected an integer, got {value!r}")
        try:
            return int(value)
        except (TypeError, ValueError):
            raise ConfigError(f"{key}: expected an integer, got {value!r}") from None
    if typ is str:
        if isinstance(value, (dict, list)) or value is None:
            raise ConfigError(f"{key}: expected a string, got {type(value).__name__}")
        return str(value)
    if isinstance(value, str) and typ in (dict[str, str], dict[str, dict[str, str]], dict[str, Any]):
        try:
            value = yaml.safe_load(value)
        except yaml.YAMLError as exc:
            raise ConfigError(f"{key}: not valid YAML: {exc}") from None
    if not isinstance(value, dict):
        raise ConfigError(f"{key}: expected a mapping, got {type(value).__name__}")
    return value


def _apply(obj: Any, data: dict[str, Any], prefix: str, env: bool = False) -> None:
    fields = {f.name: f for f in dataclasses.fields(obj)}
    hints = typing.get_type_hints(type(obj))
    for key, value in data.items():
        path = f"{prefix}_{str(key).upper()}" if env else f"{prefix}{key}"
        f = fields.get(str(key).replace("-", "_"))
        if f is None:
            raise ConfigError(f"{path}: unknown config key (known: {', '.join(sorted(fields))})")
        current = getattr(obj, f.name)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, dict):
                raise ConfigError(f"{path}: expected a mapping")
            _apply(current, value, path if env else path + ".", env)
        else:
            setattr(obj, f.name, _coerce(value, hints[f.name], path))


def _env_overrides(obj: Any, prefix: str, environ: dict[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in dataclasses.fields(obj):
        name = f"{prefix}_{f.name.upper()}"
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            sub = _env_overrides(value, name, environ)
            if sub:
                out[f.name] = sub
        elif name in environ:
            out[f.name] = environ[name]
    return out


def customizations_of(config: Config) -> Customizations:
    """Every resource customization of the config (directory, argocd-cm block, own key), merged."""
    return load_customizations(
        config.resource_customizations_dir, config.argocd_cm, config.resource_customizations
    )


def load_config(
    path: str | None = None, environ: dict[str, str] | None = None, overrides: dict[str, Any] | None = None
) -> Config:
    """Builds the effective config; raises ConfigError naming the bad key."""
    config = Config()
    if path:
        try:
            text = Path(path).read_text()
        except OSError as exc:
            raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
        try:
            data = yaml.safe_load(text) or {}
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from None
        if not isinstance(data, dict):
            raise ConfigError(f"config file {path}: expected a mapping at the top level")
        _apply(config, data, "")
    env = os.environ if environ is None else environ
    _apply(config, _env_overrides(config, "GITOPSD", dict(env)), "GITOPSD", env=True)
    _apply(config, {k: v for k, v in (overrides or {}).items() if v is not None}, "flag --")
    if config.metrics.auth not in METRICS_AUTH_MODES:
        raise ConfigError(
            f"metrics.auth: {config.metrics.auth!r} is not one of {', '.join(METRICS_AUTH_MODES)}"
        )
    if config.log_level not in _LOG_LEVELS:
        raise ConfigError(f"log_level: {config.log_level!r} is not one of {', '.join(sorted(_LOG_LEVELS))}")
    if config.log_format not in _LOG_FORMATS:
        raise ConfigError(f"log_format: {config.log_format!r} is not one of {', '.join(_LOG_FORMATS)}")
    if config.webhook.max_body_bytes < 1:
        raise ConfigError("webhook.max_body_bytes: must be at least 1")
    if config.webhook.read_timeout < 1:
        raise ConfigError("webhook.read_timeout: must be at least 1 second")
    if config.http.header_timeout < 1:
        raise ConfigError("http.header_timeout: must be at least 1 second")
    if config.http.max_connections_per_client < 1 or config.http.max_connections < 1:
        raise ConfigError("http.max_connections and http.max_connections_per_client: must be at least 1")
    if config.http.max_body_bytes < 1024:
        raise ConfigError("http.max_body_bytes: must be at least 1024")
    if config.http.public_url and not re.fullmatch(r"https?://[^\s/?#]+(/[^\s?#]*)?", config.http.public_url):
        raise ConfigError(
            f"http.public_url: {config.http.public_url[:200]!r} is not an http:// or https:// URL "
            "without query or fragment"
        )
    if config.reconcile.interval < 1:
        raise ConfigError("reconcile.interval: must be at least 1 second")
    if not 0 <= config.reconcile.delete_timeout <= 50:
        # The CLI gives a call 60 s: the answer must come before that.
        raise ConfigError("reconcile.delete_timeout: must be between 0 and 50 seconds")
    if config.render.max_fetch_bytes < 1024 * 1024:
        raise ConfigError("render.max_fetch_bytes: must be at least 1 MiB")
    if config.render.cache_size < 1 or config.render.cache_max_bytes < 1024 * 1024:
        raise ConfigError("render.cache_size / cache_max_bytes: at least 1 entry and 1 MiB")
    if config.render.max_memory_bytes < 128 * 1024 * 1024:
        # kubectl alone needs ~88 MiB of RLIMIT_DATA to start.
        raise ConfigError("render.max_memory_bytes: must be at least 128 MiB")
    if config.auth.session_ttl < 60:
        raise ConfigError("auth.session_ttl: must be at least 60 seconds")
    if config.auth.login_max_failures < 1 or config.auth.login_failure_window < 1:
        raise ConfigError("auth.login_max_failures and auth.login_failure_window: must be at least 1")
    if config.reconcile.workers < 1 or config.reconcile.operation_workers < 1:
        raise ConfigError("reconcile.workers and reconcile.operation_workers: must be at least 1")
    if config.grpc.workers < 1 or config.grpc.max_streams_per_user < 1:
        raise ConfigError("grpc.workers and grpc.max_streams_per_user: must be at least 1")
    try:
        KnownTypeFields.parse(customizations_of(config).by_kind)
    except (ValueError, yaml.YAMLError) as exc:
        raise ConfigError(str(exc)) from None
    if config.cmp.path:
        _check_cmp_plugins(config.cmp.path)
    if bool(config.tls.cert_file) != bool(config.tls.key_file):
        raise ConfigError("tls.cert_file and tls.key_file: set both or neither")
    return config


def _check_cmp_plugins(path: str) -> None:
    """A broken plugin.yaml stops the daemon with its message, not the sidecar in a restart loop."""
    from gitopsd_cmp.config import PluginConfigError, load_plugins

    try:
        load_plugins(Path(path))
    except PluginConfigError as exc:
        raise ConfigError(f"cmp.path: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cmp.path: cannot read {path}: {exc.strerror}") from None
