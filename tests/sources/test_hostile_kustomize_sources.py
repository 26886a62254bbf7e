"""Hostile repositories through the daemon's render path and the real, supervised sidecars (issue 10, item 2).

A repository of one project must not get another repository of the host rendered (a `//` look-alike
directory once let `file://<data dir>/git/repos/<other>.git//app?ref=main` through), neither from Git
nor from uploaded local files (`Diff` with local files), and nothing in a checkout may hand the data
dir's path to a renderer or an error message: not a symlink to `.git`, not the worktree's `gitdir:` file.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from fixtures.gitrepos import GitRepos, Symlink
from srchelpers import cm, names, src

from gitopsd.sources.errors import SourceError, UnsafePathError
from gitopsd.sources.gitcache import RepoCache
from gitopsd.sources.render import SourceRenderer
from gitopsd.sources.sidecars import SidecarSupervisor

PRIVATE = "private-config-of-project-production"


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def renderer(builtin_sidecars: SidecarSupervisor, data_dir: Path) -> SourceRenderer:
    return SourceRenderer(RepoCache(data_dir / "git"), builtin_sidecars)


@pytest.fixture
def cloned_private_repo(git_repos: GitRepos, renderer: SourceRenderer, data_dir: Path) -> Path:
    """Another project's repository, rendered once so that its clone sits in the data dir."""
    private = git_repos.create("production-secrets")
    private.commit(
        {"app/kustomization.yaml": "resources: [cm.yaml]\n", "app/cm.yaml": cm(PRIVATE)}
    )
    assert names(renderer.render("prod", src(private.url, "app"), "production")) == [PRIVATE]
    [clone] = (data_dir / "git" / "repos").glob("*production-secrets*.git")
    return clone


def look_alike_files(entry: str) -> dict[str, str]:
    collapsed = str(Path("attack") / entry)  # what pathlib makes of it: "//" collapsed
    return {
        "attack/kustomization.yaml": f"resources:\n  - {entry}\n",
        f"{collapsed}/kustomization.yaml": "resources: []\n",
    }


def refused(renderer: SourceRenderer, data_dir: Path, **kw: object) -> str:
    with pytest.raises(SourceError) as err:
        renderer.render("attacker", namespace="default", **kw)  # type: ignore[arg-type]
    message = str(err.value)
    assert PRIVATE not in message
    return message


def test_look_alike_directory_does_not_get_another_repository_rendered(
    git_repos: GitRepos, renderer: SourceRenderer, cloned_private_repo: Path, data_dir: Path
) -> None:
    entry = f"file://{cloned_private_repo}//app?ref=main"
    attacker = git_repos.create("attacker")
    attacker.commit(look_alike_files(entry))
    message = refused(renderer, data_dir, source=src(attacker.url, "attack"))
    assert message.startswith(
        f"renderer kustomize: attack/kustomization.yaml: remote resource {entry!r} refused: it is a URL"
    )


def test_look_alike_directory_in_local_files_is_refused_too(
    renderer: SourceRenderer, cloned_private_repo: Path, data_dir: Path
) -> None:
    """What `Diff` with local files sends: the same render path, from uploaded files."""
    entry = f"git::file://{cloned_private_repo}//app"
    local = {path: content.encode() for path, content in look_alike_files(entry).items()}
    message = refused(
        renderer, data_dir, source=src("https://git.example.com/x.git", "attack"), local_files=local, local_path="attack"
    )
    assert f"remote resource {entry!r} refused" in message


@pytest.mark.parametrize(
    ("files", "path", "expected"),
    [
        (  # a kustomize resource that is the worktree's `gitdir:` file
            {"k/kustomization.yaml": "resources: [leak.yaml]\n", "k/leak.yaml": Symlink("../.git")},
            "k",
            "symlink 'k/leak.yaml' points into the repository's .git",
        ),
        (  # a Directory source (rendered in the daemon) with the same file
            {"d/cm.yaml": cm("d"), "d/leak.yaml": Symlink("../.git")},
            "d",
            "symlink 'd/leak.yaml' points into the repository's .git",
        ),
        (  # a directory symlink whose target is .git
            {"k/kustomization.yaml": "resources: [../dotgit]\n", "dotgit": Symlink(".git")},
            "k",
            "symlink 'dotgit' points into the repository's .git",
        ),
    ],
)
def test_symlinks_to_dot_git_never_reveal_the_data_dir(
    git_repos: GitRepos, renderer: SourceRenderer, data_dir: Path, files: dict, path: str, expected: str
) -> None:
    repo = git_repos.create("sneaky")
    repo.commit(files)
    with pytest.raises(UnsafePathError) as err:
        renderer.render("sneaky", src(repo.url, path), "default")
    assert str(err.value) == expected
    assert str(data_dir) not in str(err.value) and "gitdir" not in str(err.value)


def test_app_path_into_dot_git_is_refused(git_repos: GitRepos, renderer: SourceRenderer, data_dir: Path) -> None:
    repo = git_repos.create("plain")
    repo.commit({"a/cm.yaml": cm("a")})
    with pytest.raises(UnsafePathError) as err:
        renderer.render("plain", src(repo.url, ".git"), "default")
    assert str(err.value) == "application path '.git' points into the repository's .git"
    assert names(renderer.render("plain", src(repo.url, "a"), "default")) == ["a"]


def test_alias_bomb_in_a_kustomization_costs_the_daemon_nothing(
    git_repos: GitRepos, renderer: SourceRenderer
) -> None:
    """After a render the daemon reads the app's kustomizations to learn which paths it depends on;
    a string that names a directory (here namePrefix) leads it to that directory's kustomization, which
    kustomize never reads. An alias bomb there must not cost the daemon its expansion (9**10 strings)."""
    lines = ["a0: &a0 [x,x,x,x,x,x,x,x,x]"]
    lines += [f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]" for i in range(1, 10)]
    repo = git_repos.create("bomb-beside")
    repo.commit(
        {
            "app/kustomization.yaml": "namePrefix: decoy\nresources: [cm.yaml]\n",
            "app/cm.yaml": cm("-cm"),
            "app/decoy/kustomization.yaml": "\n".join(lines) + "\n",
        }
    )
    done: list[list[str]] = []
    worker = threading.Thread(
        target=lambda: done.append(names(renderer.render("bomb", src(repo.url, "app"), "default"))), daemon=True
    )
    worker.start()
    worker.join(120)  # a hang detector, not a timing goal: the expansion would take hours
    assert done == [["decoy-cm"]]
