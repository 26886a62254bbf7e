"""Credential masking in messages: a credential is masked where it stands, and the rest of the
text stays readable (a one-letter password used to turn every `p` of a URL into `***`)."""

from __future__ import annotations

from gitopsd.sidecar.errors import scrub_secrets
from gitopsd.sources.gitauth import RepoCredentials, Scrubber


def test_a_short_password_is_masked_where_it_stands_not_inside_words() -> None:
    scrub = Scrubber(RepoCredentials(username="u", password="p").secrets())
    text = "fatal: could not read https://u:p@github.com/argoproj/argocd-example-apps (password p refused)"
    cleaned = scrub(text)
    assert cleaned == (
        "fatal: could not read https://***@github.com/argoproj/argocd-example-apps (password *** refused)"
    )


def test_sidecar_messages_mask_the_same_way() -> None:
    text = "pull https://u:p@charts.example.com/apps/index.yaml: password p rejected"
    assert (
        scrub_secrets(text, ["p"])
        == "pull https://***@charts.example.com/apps/index.yaml: password *** rejected"
    )


def test_long_secrets_are_masked_anywhere_and_tokens_as_user_names_too() -> None:
    token = "ghp_0123456789abcdef"
    scrub = Scrubber([token])
    cleaned = scrub(f"clone https://{token}@github.com/org/repo failed; header Bearer{token}")
    assert token not in cleaned
    assert cleaned == "clone https://***@github.com/org/repo failed; header Bearer***"
    # An ssh user name is not a secret and stays.
    assert Scrubber([])("ssh://git@github.com/org/repo") == "ssh://git@github.com/org/repo"
