"""Repository URL normalization: spellings of one repository share a cache entry."""

from __future__ import annotations

import pytest

from gitopsd.sources.giturl import normalize_repo_url, redact_url, split_credentials


@pytest.mark.parametrize(
    "spelling",
    [
        "https://github.com/mon-org/k8s-manifests",
        "https://github.com/mon-org/k8s-manifests.git",
        "https://github.com/mon-org/k8s-manifests/",
        "https://github.com/mon-org/k8s-manifests.git/",
        "HTTPS://GitHub.COM/mon-org/k8s-manifests",
        "https://github.com:443/mon-org/k8s-manifests",
        "https://user:pw@github.com/mon-org/k8s-manifests.git",
        "  https://github.com//mon-org/k8s-manifests  ",
    ],
)
def test_https_spellings_share_one_key(spelling: str) -> None:
    assert normalize_repo_url(spelling) == "https://github.com/mon-org/k8s-manifests"


def test_scp_like_and_ssh_urls_are_one_repository() -> None:
    expected = "ssh://git@github.com/mon-org/repo"
    assert normalize_repo_url("git@github.com:mon-org/repo.git") == expected
    assert normalize_repo_url("ssh://git@GitHub.com/mon-org/repo") == expected
    assert normalize_repo_url("ssh://git@github.com:22/mon-org/repo.git/") == expected
    # Another port is another server.
    assert (
        normalize_repo_url("ssh://git@github.com:2222/mon-org/repo")
        == "ssh://git@github.com:2222/mon-org/repo"
    )


def test_path_case_is_kept_host_case_is_not() -> None:
    assert normalize_repo_url("https://Example.com/Org/Repo") == "https://example.com/Org/Repo"


def test_git_protocol_and_local_paths(tmp_path) -> None:
    assert normalize_repo_url("git://127.0.0.1:9418/x/y.git") == "git://127.0.0.1/x/y"
    assert normalize_repo_url("git://127.0.0.1:9999/x/y.git") == "git://127.0.0.1:9999/x/y"
    local = tmp_path / "repo.git"
    assert normalize_repo_url(str(local)) == f"file://{tmp_path}/repo"
    assert normalize_repo_url(f"file://{local}/") == f"file://{tmp_path}/repo"


@pytest.mark.parametrize("bad", ["", "ftp://host/x", "not a url", "https:///nohost"])
def test_invalid_urls_are_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        normalize_repo_url(bad)


def test_embedded_credentials_are_split_off_and_redacted() -> None:
    clean, user, password = split_credentials("https://bob:p%40ss@git.example.com/r.git")
    assert (clean, user, password) == ("https://git.example.com/r.git", "bob", "p@ss")
    assert "p%40ss" not in redact_url("https://bob:p%40ss@git.example.com/r.git")


def test_relative_paths_follow_the_working_directory_answers_are_remembered(tmp_path, monkeypatch) -> None:
    # Answers are remembered (a pass normalizes every application's URL): never those of a relative
    # path, which names another repository from another directory.
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    assert normalize_repo_url("./repo.git") == f"file://{tmp_path}/a/repo"
    monkeypatch.chdir(tmp_path / "b")
    assert normalize_repo_url("./repo.git") == f"file://{tmp_path}/b/repo"
    assert normalize_repo_url("https://Host/x.git") == normalize_repo_url("https://host/x") == "https://host/x"
    for _ in range(2):  # a refused URL is refused each time, not remembered as an answer
        with pytest.raises(ValueError):
            normalize_repo_url("https://host/x y")
