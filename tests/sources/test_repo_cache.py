"""The repo cache against real git: local bare repos and `git daemon` on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from gitopsd.sources.errors import RepoError, RepoErrorKind
from gitopsd.sources.gitcache import RepoCache


@pytest.fixture
def cache(tmp_path: Path) -> RepoCache:
    return RepoCache(tmp_path / "cache")


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


def test_checkout_gives_read_only_tree_and_cleans_up(git_repos, tmp_path: Path) -> None:
    cache = RepoCache(tmp_path / "cache", keep_idle_checkouts=1)
    repo = git_repos.create("app")
    sha = repo.commit({"apps/a.yaml": "x: 1\n", "README": "hi\n"})
    other = repo.commit({"apps/a.yaml": "x: 2\n"})
    with cache.checkout(repo.url, sha) as tree:
        assert (tree / "apps" / "a.yaml").read_text() == "x: 1\n"
        # Renders cannot change the checkout (mode bits: root would ignore a write error).
        assert not (tree / "README").stat().st_mode & 0o222
        assert not (tree / "apps" / "a.yaml").stat().st_mode & 0o222
        with cache.checkout(repo.url, sha) as shared:
            assert shared == tree
        assert tree.exists()  # still used by the outer render
    assert tree.exists()  # idle, kept for the next render of this commit
    with cache.checkout(repo.url, sha) as again:
        assert again == tree
    with cache.checkout(repo.url, other) as newer:
        assert (newer / "apps" / "a.yaml").read_text() == "x: 2\n"
    assert not tree.exists()  # only one idle checkout is kept: the older one went
    cache.release_idle()
    assert not newer.exists()


def test_concurrent_checkouts_of_different_commits(git_repos, cache: RepoCache) -> None:
    repo = git_repos.create("app")
    shas = [repo.commit({"v.txt": f"{i}\n"}, message=f"c{i}") for i in range(6)]
    errors: list[BaseException] = []
    seen: dict[int, str] = {}
    barrier = threading.Barrier(len(shas))

    def work(i: int) -> None:
        try:
            barrier.wait()
            for _ in range(3):
                with cache.checkout(repo.url, shas[i]) as tree:
                    seen[i] = (tree / "v.txt").read_text()
                    assert (tree / "v.txt").read_text() == f"{i}\n"
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(len(shas))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert seen == {i: f"{i}\n" for i in range(len(shas))}
    # Kept idle: at most keep_idle_checkouts. How many exist depends on how the threads interleaved (a
    # checkout is only made when every existing one is in use; an idle one is advanced in place).
    kept = len(list((cache.root / "checkouts").rglob("v.txt")))
    assert 1 <= kept <= cache.keep_idle_checkouts == 4
    cache.release_idle()
    assert list((cache.root / "checkouts").rglob("v.txt")) == []


def test_changed_paths(git_repos, cache: RepoCache) -> None:
    repo = git_repos.create("app")
    a = repo.commit({"apps/a/x.yaml": "1", "apps/b/y.yaml": "1", "old.txt": "o"})
    b = repo.commit({"apps/b/y.yaml": "2", "old.txt": None, "new.txt": "n"})
    assert sorted(cache.changed_paths(repo.url, a, b)) == ["apps/b/y.yaml", "new.txt", "old.txt"]
    # Every application on the repository asks the same question after a push: git answers once.
    for _ in range(3):
        assert sorted(cache.changed_paths(repo.url, a, b)) == ["apps/b/y.yaml", "new.txt", "old.txt"]
    assert cache.stats(repo.url).diffs == 1
    assert cache.changed_paths(repo.url, b, a) != []  # another pair is another question
    assert cache.stats(repo.url).diffs == 2


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


def test_checkout_after_a_crash_with_a_worktree_left_behind(git_repos, tmp_path: Path) -> None:
    repo = git_repos.create("app")
    sha = repo.commit({"a.yaml": "x: 1\n"})
    crashed = RepoCache(tmp_path / "cache")
    held = crashed.checkout(repo.url, sha)
    held.__enter__()  # the process dies while a render holds the checkout
    restarted = RepoCache(tmp_path / "cache")
    with restarted.checkout(repo.url, sha) as tree:
        assert (tree / "a.yaml").read_text() == "x: 1\n"


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


def test_a_checkout_with_a_file_past_the_limit_is_refused(git_repos, tmp_path: Path) -> None:
    # 3 MB of zeros packs into a few kB: the fetch passes, writing the work tree must not.
    repo = git_repos.create("bomb")
    sha = repo.commit({"zeros.bin": bytes(3_000_000)})
    limited = RepoCache(tmp_path / "limited", max_fetch_bytes=1_000_000)
    limited.ensure_commit(repo.url, sha)
    with pytest.raises(RepoError) as err:
        with limited.checkout(repo.url, sha):
            pass
    assert err.value.kind == RepoErrorKind.TOO_LARGE


def test_a_commit_whose_files_add_up_past_the_limit_is_not_checked_out(git_repos, tmp_path: Path) -> None:
    # 40 files of 50 kB zeros: each far below the limit, 2 MB together, a few kB packed.
    repo = git_repos.create("many")
    sha = repo.commit({f"zeros/{index}.bin": bytes(50_000) for index in range(40)})
    limited = RepoCache(tmp_path / "limited", max_fetch_bytes=1_000_000)
    with pytest.raises(RepoError) as err:
        with limited.checkout(repo.url, sha):
            pass
    assert err.value.kind == RepoErrorKind.TOO_LARGE
    assert f"commit {sha[:12]} holds 2000000 bytes of files, more than render.max_fetch_bytes (1000000)" in str(
        err.value
    )
    assert not list((tmp_path / "limited" / "checkouts").rglob(sha))


def test_a_new_commit_advances_an_idle_checkout_in_place(git_repos, cache: RepoCache) -> None:
    repo = git_repos.create("mono")
    first = repo.commit({f"apps/a{i}/cm.yaml": f"i: {i}\n" for i in range(200)} | {"gone.yaml": "x: 1\n"})
    with cache.checkout(repo.url, first) as root:
        kept_inode = (root / "apps/a1/cm.yaml").stat().st_ino
    # Something a renderer could have left behind in the tree (directories stay writable), and a
    # file it changed in place (after making it writable again).
    (root / "apps" / "leftover.yaml").write_text("stale: true\n")
    (root / "apps/a5/cm.yaml").chmod(0o644)
    (root / "apps/a5/cm.yaml").write_text("tampered: true\n")
    second = repo.commit({"apps/a0/cm.yaml": "i: changed\n", "gone.yaml": None})
    with cache.checkout(repo.url, second) as new_root:
        assert new_root != root and not root.exists()
        # Only what the commit changed was written again.
        assert (new_root / "apps/a1/cm.yaml").stat().st_ino == kept_inode
        assert (new_root / "apps/a0/cm.yaml").read_text() == "i: changed\n"
        assert not (new_root / "gone.yaml").exists()
        assert not (new_root / "apps" / "leftover.yaml").exists()
        assert (new_root / "apps/a0/cm.yaml").stat().st_mode & 0o222 == 0
        # Written again as the commit has it, and read-only like every other file.
        assert (new_root / "apps/a5/cm.yaml").read_text() == "i: 5\n"
        assert all(not f.stat().st_mode & 0o222 for f in new_root.rglob("*.yaml")), "a writable file"
    # The first commit can still be checked out afresh.
    with cache.checkout(repo.url, first) as again:
        assert (again / "gone.yaml").read_text() == "x: 1\n"
