"""The CLI's fast YAML reading (gitopsd/cli/yamlload.py) gives what yaml.safe_load_all gives: the same
values, and for a broken stream the same error message (the line and a caret pointing at it)."""

from __future__ import annotations

import pytest
import yaml

from gitopsd.cli.yamlload import load_all

STREAM = """\
kind: Application
metadata: {name: web, labels: {on: yes, version: 1.10, "n": 007}}
spec:
  when: 2024-05-01
  values: |
    replicas: 3
  list: [a, 'b', "c\\n", ~, .inf, 0x1f]
---
---
- just a list
- {a: &x [1, 2], b: *x}
"""


def test_the_values_are_those_of_safe_load_all() -> None:
    assert load_all(STREAM) == list(yaml.safe_load_all(STREAM))
    assert load_all(STREAM)[1] is None  # an empty document stays, as the callers skip it themselves


@pytest.mark.parametrize("text", ["a: [1, 2", "key: b\n c: d: e", 'k: "open', "- a\nb: c", "\t- x"])
def test_a_broken_stream_reads_as_safe_load_all_words_it(text: str) -> None:
    with pytest.raises(yaml.YAMLError) as expected:
        list(yaml.safe_load_all(text))
    with pytest.raises(yaml.YAMLError) as got:
        load_all(text)
    assert str(got.value) == str(expected.value)
