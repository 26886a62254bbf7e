"""Argo CD's build environment of a render (ARGOCD_APP_NAME, ...), and `$VAR` substitution with it.

Renderers hand it to tools (CMP commands get it as their environment, kustomize's
commonAnnotationsEnvsubst and Jsonnet's extVars/tlas values substitute it), as Argo CD does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

from gitopsd.api.gitopsd.v1 import renderer_pb2

_VARIABLE = re.compile(r"\$(?:\$|\{([A-Za-z_][A-Za-z0-9_]*)\}|([A-Za-z_][A-Za-z0-9_]*))")


def build_env(request: renderer_pb2.RenderRequest) -> dict[str, str]:
    """The standard build environment variables of Argo CD for this request."""
    return {
        "ARGOCD_APP_NAME": request.app_name,
        "ARGOCD_APP_NAMESPACE": request.namespace,
        "ARGOCD_APP_REVISION": request.revision,
        "ARGOCD_APP_REVISION_SHORT": request.revision[:7],
        "ARGOCD_APP_SOURCE_PATH": request.source.path,
        "ARGOCD_APP_SOURCE_REPO_URL": request.source.repo_url,
        "ARGOCD_APP_SOURCE_TARGET_REVISION": request.source.target_revision,
        "KUBE_VERSION": request.kube_version,
        "KUBE_API_VERSIONS": ",".join(request.api_versions),
    }


def envsubst(text: str, env: Mapping[str, str]) -> str:
    """`$NAME` and `${NAME}` replaced by the build variables, `$$` by `$`.

    Names that are not build variables are left as written (Argo CD empties them): a value that
    is Jsonnet code may use `$` for its own purposes, and nothing of the sidecar's environment
    may leak into a render.
    """

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name = match.group(1) or match.group(2)
        return env.get(name, match.group(0))

    return _VARIABLE.sub(replace, text)
