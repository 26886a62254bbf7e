"""What bench/reconcile_bench.py sends besides its calls: the GitHub push payload of its webhook phase."""

from __future__ import annotations

import json


def github_push(url: str, previous: str, sha: str, modified: list[str], message: str) -> bytes:
    """What GitHub sends for a push of one commit (the fields gitopsd reads, and a few it does not)."""
    commit = {
        "id": sha,
        "message": message,
        "timestamp": "2026-01-01T00:00:00Z",
        "author": {"name": "bench", "email": "bench@gitopsd.invalid"},
        "added": [],
        "removed": [],
        "modified": modified,
    }
    return json.dumps(
        {
            "ref": "refs/heads/main",
            "before": previous,
            "after": sha,
            "created": False,
            "deleted": False,
            "forced": False,
            "compare": f"{url}/compare/{previous[:12]}...{sha[:12]}",
            "commits": [commit],
            "head_commit": commit,
            "pusher": {"name": "bench", "email": "bench@gitopsd.invalid"},
            "repository": {
                "name": "apps",
                "full_name": "bench/apps",
                "html_url": url,
                "clone_url": url,
                "default_branch": "main",
            },
        }
    ).encode()
