"""Read a Swarmfly process's Prometheus metrics the way Prometheus would: over HTTP."""

from __future__ import annotations

from collections.abc import Mapping

import aiohttp
from prometheus_client.parser import text_string_to_metric_families


class Samples:
    """One scrape: ``samples["swarmfly_proxy_bytes_total", {"origin": "store"}]``."""

    def __init__(self, values: Mapping[tuple[str, frozenset[tuple[str, str]]], float]) -> None:
        self._values = dict(values)

    def __getitem__(self, key: str | tuple[str, Mapping[str, str]]) -> float:
        """A sample's value (0 when absent: a counter nobody incremented yet)."""
        name, labels = (key, {}) if isinstance(key, str) else key
        return self._values.get((name, frozenset(labels.items())), 0.0)

    def total(self, name: str, **labels: str) -> float:
        """The sum over every sample of ``name`` whose labels include ``labels``."""
        wanted = set(labels.items())
        return sum(v for (n, ls), v in self._values.items() if n == name and wanted <= ls)

    def names(self) -> set[str]:
        return {name for name, _ in self._values}


async def scrape(url: str) -> Samples:
    async with aiohttp.ClientSession() as session, session.get(url) as response:
        assert response.status == 200, f"GET {url} answered {response.status}"
        text = await response.text()
    values = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            values[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return Samples(values)
