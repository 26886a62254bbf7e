"""`gitopsd apply -f` of many Applications: one List and a BatchCreate per 500 documents instead of up to
three calls per document, with the same created/configured/unchanged line per document; a batch the
daemon refuses is applied one document at a time, so each bad document is named and the others applied;
a caller who may create but not read applications gets what it got before."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from auth.authhelpers import login, start_policy_daemon
from fixtures.applydocs import app_doc as _app
from fixtures.applydocs import project_doc as _project
from fixtures.applydocs import write_docs as _write
from fixtures.daemon import CLI, DaemonProcess

from gitopsd.api.gitopsd.v1 import application_pb2 as apppb
from gitopsd.api.gitopsd.v1 import application_pb2_grpc as appgrpc
from gitopsd.cli.apply_cmd import BATCH, BATCH_FROM, cmd_apply
from gitopsd.cli.client import Client, Connection
from gitopsd.cli.main import build_parser

# No periodic reconcile pass during a test, and one worker for the first comparisons of hundreds of apps.
QUIET = {"GITOPSD_RECONCILE_INTERVAL": "3600", "GITOPSD_RECONCILE_WORKERS": "1"}


class _Calls(grpc.UnaryUnaryClientInterceptor):  # type: ignore[misc]
    """Counts the CLI's calls by method, e.g. calls["ApplicationService/Create"]."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()

    def intercept_unary_unary(self, continuation: Callable[..., Any], details: Any, request: Any) -> Any:
        self.counts[details.method.removeprefix("/gitopsd.v1.")] += 1
        return continuation(details, request)


Apply = Callable[..., tuple[int, list[str], str, Counter[str]]]


@pytest.fixture
def daemon(tmp_path: Path) -> Iterator[DaemonProcess]:
    proc = DaemonProcess(data_dir=tmp_path / "data", log_path=tmp_path / "daemon.log", env=QUIET).start()
    try:
        yield proc
    finally:
        proc.stop()


@pytest.fixture
def apply(daemon: DaemonProcess, capsys: pytest.CaptureFixture[str]) -> Apply:
    """`gitopsd apply -f FILE...` in this process, its calls counted: (exit code, stdout lines, stderr, calls)."""

    def run(*files: Path) -> tuple[int, list[str], str, Counter[str]]:
        connection = Connection(token=daemon.token, ca_pem=daemon.cert_path.read_bytes())
        client = Client(daemon.address, timeout=60, connection=connection)
        calls = _Calls()
        client.channel = grpc.intercept_channel(client.channel, calls)
        args = build_parser().parse_args(["apply", *(word for f in files for word in ("-f", str(f)))])
        try:
            code = cmd_apply(args, client)
        finally:
            client.close()
        out, err = capsys.readouterr()
        return code, out.splitlines(), err, calls.counts

    return run


def test_many_applications_take_one_list_and_a_batch_per_500(apply: Apply, daemon: DaemonProcess, tmp_path: Path) -> None:
    count = BATCH + 20  # two batches
    apps = [_app(f"app-{i:03d}", "team" if i % 2 else "default") for i in range(count)]
    file = _write(tmp_path / "apps.yaml", *apps, _project("team"))  # the project last: applied first

    code, out, err, calls = apply(file)
    assert code == 0, err
    assert out == ["appproject.argoproj.io/team created"] + [
        f"application.argoproj.io/app-{i:03d} created" for i in range(count)
    ]
    assert calls["ApplicationService/List"] == 1 and calls["ApplicationService/BatchCreate"] == 2, calls
    assert calls["ApplicationService/Create"] == 0 and calls["ApplicationService/Get"] == 0, calls

    code, out, err, calls = apply(file)
    assert code == 0, err
    assert out == ["appproject.argoproj.io/team unchanged"] + [
        f"application.argoproj.io/app-{i:03d} unchanged" for i in range(count)
    ]
    assert calls["ApplicationService/List"] == 1 and calls["ApplicationService/BatchCreate"] == 2, calls
    assert calls["ApplicationService/Create"] == 0, calls

    # One changed in each batch: its spec (the path), the other its labels.
    apps[300] = _app("app-300", "default", path="deploy-v2")
    apps[510] = _app("app-510", "default", tier="front")
    _write(file, *apps, _project("team"))
    code, out, err, _ = apply(file)
    assert code == 0, err
    changed = {"app-300", "app-510"}
    assert out[1:] == [
        f"application.argoproj.io/app-{i:03d} {'configured' if f'app-{i:03d}' in changed else 'unchanged'}"
        for i in range(count)
    ]
    with daemon.channel() as channel:
        stub = appgrpc.ApplicationServiceStub(channel)
        assert stub.Get(apppb.GetApplicationRequest(name="app-300"), timeout=10).spec.source.path == "deploy-v2"
        stored = stub.Get(apppb.GetApplicationRequest(name="app-510"), timeout=10)
        assert dict(stored.metadata.labels) == {"tier": "front"} and stored.spec.project == "default"


def test_an_invalid_document_is_named_and_the_rest_of_its_batch_applied(apply: Apply, tmp_path: Path) -> None:
    first = [_app(f"web-{i:02d}") for i in range(BATCH_FROM + 5)]
    code, _, err, _ = apply(_write(tmp_path / "first.yaml", *first))
    assert code == 0, err

    later = [*first, _app("web-new-a"), _app("web-new-b")]
    later[3] = _app("web-03", path="moved")
    broken = _app("broken")
    broken["spec"]["sorce"] = {}
    later.insert(10, broken)  # document 11
    file = _write(tmp_path / "later.yaml", *later)
    code, out, err, calls = apply(file)
    assert code == 2
    expected = [f"web-{i:02d} {'configured' if i == 3 else 'unchanged'}" for i in range(BATCH_FROM + 5)]
    expected += ["web-new-a created", "web-new-b created"]
    assert out == [f"application.argoproj.io/{line}" for line in expected]
    assert err.count("\n") == 1, err
    assert err.startswith(f"{file} document 11 (broken): INVALID_ARGUMENT: ") and "spec.sorce" in err, err
    # The refused batch went again one document at a time: a Create each, the way apply always did.
    assert calls["ApplicationService/BatchCreate"] == 1, calls
    assert calls["ApplicationService/Create"] >= len(later), calls


def test_who_may_create_but_not_read_applications_applies_as_before(tmp_path: Path) -> None:
    # maker may create and replace applications of project default; not get (nor list) them.
    policy = "p, maker, applications, create, default/*, allow\np, maker, applications, update, default/*, allow"
    proc = start_policy_daemon(tmp_path, policy, {"maker": "maker-password-1"})
    try:
        cli = CLI(proc.address, tmp_path)
        assert cli("apply", "-f", str(_write(tmp_path / "project.yaml", _project("other")))).returncode == 0
        existing = [_app(f"old-{i:02d}") for i in range(10)]
        seeded = cli("apply", "-f", str(_write(tmp_path / "existing.yaml", *existing)))
        assert seeded.returncode == 0, seeded.stderr
        token = login(proc, "maker", "maker-password-1")

        docs = [*existing, *(_app(f"new-{i:02d}") for i in range(BATCH_FROM)), _app("elsewhere", "other")]
        file = _write(tmp_path / "mixed.yaml", *docs)
        result = cli("apply", "-f", str(file), env={"GITOPSD_AUTH_TOKEN": token})
        assert result.returncode == 2, result.stderr
        # What the caller may not read it cannot call unchanged: replaced, so configured (as before).
        assert result.stdout.splitlines() == [f"application.argoproj.io/old-{i:02d} configured" for i in range(10)] + [
            f"application.argoproj.io/new-{i:02d} created" for i in range(BATCH_FROM)
        ]
        assert result.stderr.splitlines() == [
            f"{file} document {len(docs)} (elsewhere): PERMISSION_DENIED: permission denied: "
            "maker may not create applications 'other/elsewhere'"
        ]
    finally:
        proc.stop()
