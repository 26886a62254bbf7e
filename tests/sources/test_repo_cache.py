"""The repo cache's revisions, clones and fetches against real git (local bare repos and `git daemon`
on 127.0.0.1): resolving, ls-remote per interval, fetch limits, unreachable and hostile repositories.
Checkouts and changed paths: test_repo_checkouts.py."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from gitopsd.sources.errors import RepoError, RepoErrorKind
from gitopsd.sources.gitcache import RepoCache


def test_resolves_branch_tag_short_sha_and_head(git_repos, cache: RepoCache) -> None:
    repo = git_repos.create("app")
    first = repo.commit({"a.yaml": "x: 1\n"}, message="feat: first", date="2026-03-01T10:00:00+01:00")
    repo.tag("v1.0.0", annotated=True)
    repo.tag("light")
    second = repo.commit({"a.yaml": "x: 2\n"}, message="fix: second\n\nbody line")
    dev = repo.commit({"b.yaml": "y: 1\n"}, branch="dev")

    assert cache.resolve(repo.url, "main").sha == second
    assert cache.resolve(repo.url, "HEAD").sha == second
    assert cache.resolve(repo.url, "").sha == second
    assert cache.resolve(repo.url, "dev").sha == dev
    # An annotated tag resolves to the commit, not the tag object.
    assert cache.resolve(repo.url, "v1.0.0").sha == first
    assert cache.resolve(repo.url, "light").sha == first
    assert cache.resolve(repo.url, first[:7]).sha == first
    assert cache.resolve(repo.url, first).sha == first

    info = cache.resolve(repo.url, "v1.0.0")
    assert info.author == "Test Author <author@example.com>"
    assert info.date == "2026-03-01T10:00:00+01:00"
    assert info.message == "feat: first"
    assert info.target_revision == "v1.0.0"
    assert cache.commit_info(repo.url, second).message == "fix: second\n\nbody line"

    refs = cache.list_refs(repo.url)
    assert refs.branches == ("dev", "main")
    assert refs.tags == ("light", "v1.0.0")


def test_unknown_revision_is_a_clear_error(git_repos, cache: RepoCache) -> None:
    repo = git_repos.create("app")
    repo.commit({"a.yaml": "x: 1\n"})
    for rev in ("no-such-branch", "deadbeef", "0" * 40):
        with pytest.raises(RepoError) as err:
            cache.resolve(repo.url, rev)
        assert err.value.kind == RepoErrorKind.REVISION_NOT_FOUND
        assert "revision not found" in str(err.value)


def test_one_ls_remote_per_repo_per_interval(git_repos, cache: RepoCache) -> None:
    repo = git_repos.create("app")
    repo.commit({"a.yaml": "x: 1\n"})
    other_spelling = f"file://{repo.url}/"
    for _ in range(5):  # five apps on one repository, two spellings of its URL
        cache.resolve_sha(repo.url, "main")
        cache.resolve_sha(other_spelling, "HEAD")
    assert cache.stats(repo.url).ls_remote == 1

    new = repo.commit({"a.yaml": "x: 2\n"})
    # Within the interval the answer is the cached one...
    assert cache.resolve_sha(repo.url, "main") != new
    cache.new_interval()
    # ...the next interval sees the new commit, with a single ls-remote again.
    for _ in range(3):
        assert cache.resolve_sha(repo.url, "main") == new
    assert cache.stats(repo.url).ls_remote == 2


def test_ls_remote_ttl_expires(git_repos, tmp_path: Path) -> None:
    now = [0.0]
    cache = RepoCache(tmp_path / "c", ls_remote_ttl=30, clock=lambda: now[0])
    repo = git_repos.create("app")
    repo.commit({"a.yaml": "x: 1\n"})
    cache.ls_remote(repo.url)
    now[0] = 29
    cache.ls_remote(repo.url)
    assert cache.stats(repo.url).ls_remote == 1
    now[0] = 31
    cache.ls_remote(repo.url)
    assert cache.stats(repo.url).ls_remote == 2


def test_a_forced_ls_remote_is_as_fresh_as_the_moment_it_was_asked_for(git_repos, tmp_path: Path) -> None:
    """A refresh asked for at T and run later may use any answer the server gave after T (10,000
    new applications then cost one ls-remote per round, not one each); never an older one."""
    now = [10.0]
    cache = RepoCache(tmp_path / "c", ls_remote_ttl=300, clock=lambda: now[0])
    repo = git_repos.create("app")
    first = repo.commit({"a.yaml": "x: 1\n"})
    asked = cache.now()  # the refresh is asked for here...
    now[0] = 11.0
    assert cache.ls_remote(repo.url, force=True)["refs/heads/main"] == first  # ...another runs first
    now[0] = 12.0
    # Run at 12, asked for at 10: the answer given at 11 is new enough.
    assert cache.ls_remote(repo.url, force=True, asked_at=asked)["refs/heads/main"] == first
    assert cache.stats(repo.url).ls_remote == 1
    second = repo.commit({"a.yaml": "x: 2\n"})
    # Asked for after that answer: the server is asked again, and the new commit is seen.
    assert cache.ls_remote(repo.url, force=True, asked_at=cache.now())["refs/heads/main"] == second
    assert cache.stats(repo.url).ls_remote == 2


def test_a_path_turned_into_a_link_to_the_cache_is_refused_at_the_next_git_read(
    git_repos, tmp_path: Path
) -> None:
    """Renders reuse the file:// check for a moment; git never does: an ls-remote right after the
    path was swapped for a link into the cache's own clones is refused."""
    cache = RepoCache(tmp_path / "c")
    private = git_repos.create("private")
    private.commit({"secret.yaml": "x: 1\n"})
    cache.resolve(private.url, "main")  # a clone in the cache: what an attacker wants to read
    clone = next((cache.root / "repos").iterdir())
    public = git_repos.create("public")
    public.commit({"a.yaml": "x: 1\n"})
    link = tmp_path / "link"
    link.symlink_to(public.bare)
    url = f"file://{link}"
    cache.ls_remote(url)  # allowed (and the answer remembered for renders)
    link.unlink()
    link.symlink_to(clone)
    with pytest.raises(RepoError) as refused:
        cache.ls_remote(url, force=True)
    assert "data dir" in str(refused.value)


def test_new_commits_are_fetched_never_recloned(git_repos, cache: RepoCache) -> None:
    repo = git_repos.create("app")
    repo.commit({"a.yaml": "x: 1\n"})
    cache.resolve(repo.url, "main")
    clone_dir = next((cache.root / "repos").iterdir())
    inode = clone_dir.stat().st_ino
    assert cache.stats(repo.url).clones == 1
    fetches = cache.stats(repo.url).fetches

    # Resolving again a commit that is already local does not fetch.
    cache.new_interval()
    cache.resolve(repo.url, "main")
    assert cache.stats(repo.url).fetches == fetches

    new = repo.commit({"a.yaml": "x: 2\n"})
    cache.new_interval()
    assert cache.resolve(repo.url, "main").sha == new
    stats = cache.stats(repo.url)
    assert (stats.clones, stats.fetches) == (1, fetches + 1)
    assert next((cache.root / "repos").iterdir()).stat().st_ino == inode

    # A new cache over the same directory (a daemon restart) reuses the clone.
    again = RepoCache(cache.root)
    assert again.resolve(repo.url, "main").sha == new
    assert again.stats(repo.url).clones == 0


def test_no_url_or_credential_is_stored_in_the_clone(git_repos, cache: RepoCache) -> None:
    repo = git_repos.create("app")
    repo.commit({"a.yaml": "x: 1\n"})
    url = f"file://{repo.url}"
    cache.resolve(url, "main")
    config = next((cache.root / "repos").iterdir()) / "config"
    assert repo.url not in config.read_text()


def test_missing_repository_is_a_clear_error(tmp_path: Path, cache: RepoCache) -> None:
    with pytest.raises(RepoError) as err:
        cache.resolve(str(tmp_path / "nope.git"), "main")
    assert err.value.kind == RepoErrorKind.NOT_FOUND
    assert "repository not found" in str(err.value)


def test_repository_that_disappears(git_repos, cache: RepoCache) -> None:
    repo = git_repos.create("app")
    repo.commit({"a.yaml": "x: 1\n"})
    cache.resolve(repo.url, "main")
    shutil.rmtree(repo.bare)
    cache.new_interval()
    with pytest.raises(RepoError) as err:
        cache.resolve(repo.url, "main")
    assert err.value.kind == RepoErrorKind.NOT_FOUND


def test_git_daemon_protocol_and_daemon_down(git_repos, git_daemon, cache: RepoCache) -> None:
    repo = git_repos.create("served")
    sha = repo.commit({"a.yaml": "x: 1\n"})
    url = git_daemon.url(repo)
    assert cache.resolve(url, "main").sha == sha
    with cache.checkout(url, sha) as tree:
        assert (tree / "a.yaml").read_text() == "x: 1\n"

    missing = url.replace("served", "absent")
    with pytest.raises(RepoError) as err:
        cache.resolve(missing, "main")
    assert err.value.kind == RepoErrorKind.NOT_FOUND

    git_daemon.stop()
    cache.new_interval()
    with pytest.raises(RepoError) as err:
        cache.resolve(url, "main")
    assert err.value.kind == RepoErrorKind.UNREACHABLE
    assert "127.0.0.1" in str(err.value)


def test_commit_only_reachable_by_sha_is_fetched_by_sha(git_repos, cache: RepoCache) -> None:
    repo = git_repos.create("app")
    repo.commit({"a.yaml": "x: 1\n"})
    cache.resolve(repo.url, "main")
    # A commit on a ref that is neither a branch nor a tag (like refs/pull/1/head).
    side = repo.commit({"a.yaml": "x: 2\n"}, branch="feature")
    import subprocess

    subprocess.run(["git", "update-ref", "refs/pull/1/head", side], cwd=repo.bare, check=True)
    subprocess.run(["git", "branch", "-D", "feature"], cwd=repo.bare, check=True, capture_output=True)
    subprocess.run(["git", "config", "uploadpack.allowAnySHA1InWant", "true"], cwd=repo.bare, check=True)
    info = cache.resolve(repo.url, side)
    assert info.sha == side
    with cache.checkout(repo.url, side) as tree:
        assert (tree / "a.yaml").read_text() == "x: 2\n"


def test_server_that_never_answers_times_out(tmp_path: Path) -> None:
    import socket

    from gitopsd.sources.gitcache import GitTimeouts

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)  # accepts the connection, never says a word
    port = listener.getsockname()[1]
    try:
        cache = RepoCache(tmp_path / "c", timeouts=GitTimeouts(ls_remote=1, fetch=1, local=5))
        with pytest.raises(RepoError) as err:
            cache.resolve(f"git://127.0.0.1:{port}/repo.git", "main")
        assert err.value.kind == RepoErrorKind.UNREACHABLE
        assert (
            str(err.value)
            == f"repository unreachable: git://127.0.0.1:{port}/repo.git: git timed out after 1s"
        )
    finally:
        listener.close()


@pytest.mark.parametrize(
    "hostile",
    [
        "--upload-pack=touch {marker}",
        "-u touch {marker}:x",
        "ext::sh -c touch% {marker}",
        "ext::sh",
        "ssh://-oProxyCommand=touch%20{marker}/x",
        "-oProxyCommand=touch:{marker}",
        "fd::17",
    ],
)
def test_hostile_urls_run_nothing(tmp_path: Path, cache: RepoCache, hostile: str) -> None:
    marker = tmp_path / "pwned"
    with pytest.raises(RepoError) as err:
        cache.resolve(hostile.format(marker=marker), "main")
    assert err.value.kind in (RepoErrorKind.INVALID_URL, RepoErrorKind.FAILED, RepoErrorKind.UNREACHABLE)
    assert not marker.exists()


def test_concurrent_apps_on_one_repo_share_one_ls_remote(git_repos, cache: RepoCache) -> None:
    repo = git_repos.create("app")
    sha = repo.commit({"a.yaml": "x: 1\n"})
    results: list[str] = []
    barrier = threading.Barrier(8)

    def app() -> None:
        barrier.wait()
        results.append(cache.resolve_sha(repo.url, "main"))

    threads = [threading.Thread(target=app) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [sha] * 8
    assert cache.stats(repo.url).ls_remote == 1


def test_a_fetch_bigger_than_the_limit_is_refused_and_leaves_no_clone(git_repos, tmp_path: Path) -> None:
    repo = git_repos.create("huge")
    repo.commit({"small.yaml": "x: 1\n"})
    limited = RepoCache(tmp_path / "limited", max_fetch_bytes=1_000_000)
    assert limited.resolve(repo.url, "main").sha  # small enough: fine
    with limited.checkout(repo.url, repo.commit({"more.yaml": "y: 2\n"})) as tree:
        assert (tree / "more.yaml").exists()

    big = repo.commit({"blob.bin": os.urandom(3_000_000)}, message="add a large blob")
    with pytest.raises(RepoError) as err:
        limited.ensure_commit(repo.url, big)
    assert err.value.kind == RepoErrorKind.TOO_LARGE
    assert "more than 1000000 bytes at once (render.max_fetch_bytes)" in str(err.value)

    fresh = RepoCache(tmp_path / "fresh", max_fetch_bytes=1_000_000)
    with pytest.raises(RepoError) as err:
        fresh.resolve(repo.url, "main")
    assert err.value.kind == RepoErrorKind.TOO_LARGE
    assert not [p for p in (tmp_path / "fresh" / "repos").iterdir() if (p / "HEAD").exists()]
    # Without a limit the same repository is fetched.
    assert RepoCache(tmp_path / "unlimited").resolve(repo.url, "main").sha == big
