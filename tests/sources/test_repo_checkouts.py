"""The repo cache's checkouts and changed paths against real git: shared read-only work trees, kept
idle and advanced in place, their size limits, and the memo of changed_paths."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from gitopsd.sources.errors import RepoError, RepoErrorKind
from gitopsd.sources.gitcache import RepoCache


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


def test_checkout_after_a_crash_with_a_worktree_left_behind(git_repos, tmp_path: Path) -> None:
    repo = git_repos.create("app")
    sha = repo.commit({"a.yaml": "x: 1\n"})
    crashed = RepoCache(tmp_path / "cache")
    held = crashed.checkout(repo.url, sha)
    held.__enter__()  # the process dies while a render holds the checkout
    restarted = RepoCache(tmp_path / "cache")
    with restarted.checkout(repo.url, sha) as tree:
        assert (tree / "a.yaml").read_text() == "x: 1\n"


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
