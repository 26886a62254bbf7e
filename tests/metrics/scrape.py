"""GET of a real daemon's HTTP listener, and /metrics parsed as a Prometheus server parses it (for
the tests of this directory)."""

from __future__ import annotations

import http.client

from prometheus_client.parser import text_string_to_metric_families


def get(address: str, path: str) -> tuple[int, str, str]:
    host, _, port = address.rpartition(":")
    conn = http.client.HTTPConnection(host, int(port), timeout=30)
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        return resp.status, resp.getheader("Content-Type", ""), resp.read().decode()
    finally:
        conn.close()


class Scrape:
    def __init__(self, text: str) -> None:
        self.families = {f.name: f for f in text_string_to_metric_families(text)}
        self.samples = [s for f in self.families.values() for s in f.samples]

    def value(self, metric: str, /, **labels: str) -> float | None:
        for s in self.samples:
            if s.name == metric and all(s.labels.get(k) == v for k, v in labels.items()):
                return s.value
        return None


def scrape(address: str) -> Scrape:
    code, content_type, text = get(address, "/metrics")
    assert code == 200 and content_type.startswith("text/plain")
    return Scrape(text)
