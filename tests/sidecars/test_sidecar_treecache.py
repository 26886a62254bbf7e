"""gitopsd.sidecar.treecache: reuse, refusal of bad file sets, eviction that spares trees in use."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fixtures.renderers import source_files

from gitopsd.sidecar import InvalidSource, LimitExceeded
from gitopsd.sidecar.treecache import TreeCache, files_digest, private_copy


def test_same_files_reuse_the_tree_and_other_files_get_their_own(tmp_path: Path) -> None:
    cache = TreeCache(tmp_path / "trees")
    files = source_files({"app/kustomization.yaml": "resources: []\n", "README": "x"})
    with cache.tree(files, 1024) as first:
        assert (first.path / "app/kustomization.yaml").read_text() == "resources: []\n"
    with cache.tree(
        source_files({"app/kustomization.yaml": "resources: []\n", "README": "x"}), 1024
    ) as again:
        assert again.path == first.path
    with cache.tree(
        source_files({"app/kustomization.yaml": "resources: []\n", "README": "y"}), 1024
    ) as other:
        assert other.path != first.path
    assert cache.stats() == {"trees": 2, "bytes": 2 * len("resources: []\nx"), "hits": 1, "misses": 2}


def test_digest_frames_paths_and_contents() -> None:
    # "ab" + "c" and "a" + "bc" must not collide, nor a path moved into the content, nor the mode.
    assert files_digest(source_files({"ab": "c"})) != files_digest(source_files({"a": "bc"}))
    assert files_digest(source_files({"a": "b", "c": "d"})) != files_digest(
        source_files({"a": "bc", "": "d"})
    )
    plain = source_files({"run.sh": "#!/bin/sh\n"})
    executable = source_files({"run.sh": "#!/bin/sh\n"})
    executable[0].executable = True
    assert files_digest(plain) != files_digest(executable)


def test_bad_file_sets_are_refused_and_leave_nothing(tmp_path: Path) -> None:
    cache = TreeCache(tmp_path / "trees")
    with pytest.raises(InvalidSource, match="'..'"):
        with cache.tree(source_files({"../escape.yaml": "x"}), 1024):
            pass
    with pytest.raises(LimitExceeded, match="1024 bytes"):
        with cache.tree(source_files({"big.yaml": "x" * 2048}), 1024):
            pass
    assert list((tmp_path / "trees").iterdir()) == []
    assert cache.stats()["trees"] == 0


def test_least_recently_used_trees_go_but_never_one_in_use(tmp_path: Path) -> None:
    cache = TreeCache(tmp_path / "trees", max_trees=2)
    held = cache.tree(source_files({"held": "0"}), 1024)
    held_tree = held.__enter__()
    for index in range(4):
        with cache.tree(source_files({f"file-{index}": str(index)}), 1024):
            pass
    assert held_tree.path.is_dir()  # oldest, but a render still holds it
    assert cache.stats()["trees"] == 2
    held.__exit__(None, None, None)
    with cache.tree(source_files({"file-9": "9"}), 1024):
        pass
    assert not held_tree.path.exists()
    assert sorted(p.name for t in (tmp_path / "trees").iterdir() for p in t.iterdir()) == ["file-3", "file-9"]


def test_a_size_budget_of_zero_keeps_no_tree_after_use(tmp_path: Path) -> None:
    cache = TreeCache(tmp_path / "trees", max_bytes=0)
    with cache.tree(source_files({"a": "1"}), 1024) as tree:
        assert (tree.path / "a").read_text() == "1"
    assert list((tmp_path / "trees").iterdir()) == []


def test_concurrent_renders_of_new_files_end_with_one_tree(tmp_path: Path) -> None:
    cache = TreeCache(tmp_path / "trees")
    files = source_files({f"dir/{index}.yaml": "x" * 100 for index in range(50)})
    seen: list[Path] = []
    barrier = threading.Barrier(4)

    def render() -> None:
        barrier.wait()
        with cache.tree(files, 1 << 20) as tree:
            assert len(list((tree.path / "dir").iterdir())) == 50
            seen.append(tree.path)

    threads = [threading.Thread(target=render) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(seen) == 4
    assert len(list((tmp_path / "trees").iterdir())) == 1


def test_private_copy_links_files_and_a_replaced_file_stays_private(tmp_path: Path) -> None:
    cache = TreeCache(tmp_path / "trees")
    with cache.tree(source_files({"app/kustomization.yaml": "resources: []\n"}), 1024) as tree:
        copy = tmp_path / "copy"
        private_copy(tree.path, copy)
        edited = copy / "app/edited.yaml"
        edited.write_text("namePrefix: x-\n")
        edited.replace(copy / "app/kustomization.yaml")
        assert (tree.path / "app/kustomization.yaml").read_text() == "resources: []\n"
