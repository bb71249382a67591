"""Names and addresses as a real cluster makes them (pod-template hashes, pod suffixes, IPs)."""

from __future__ import annotations

import contextlib
import functools
import ipaddress
import itertools
import json
from random import Random
from typing import Any

SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
"""Kubernetes' ``rand`` alphabet: no vowels, no 0/1/3 (avoids words and look-alikes)."""


@functools.lru_cache(maxsize=1024)
def fnv32a(data: bytes) -> int:
    """FNV-1a, 32 bits. Cached: a generated mesh hashes the same pod templates in every
    cluster (a pure-Python loop over each byte: ~0.5 s of a 255-cluster start)."""
    value = 0x811C9DC5
    for byte in data:
        value ^= byte
        value = (value * 0x01000193) & 0xFFFFFFFF
    return value


def safe_encode(text: str) -> str:
    """``rand.SafeEncodeString``: each character mapped into the safe alphabet."""
    return "".join(SAFE_ALPHABET[ord(c) % len(SAFE_ALPHABET)] for c in text)


def pod_template_hash(template: dict[str, Any]) -> str:
    """The ``pod-template-hash`` label: fnv32a of the template, safe-encoded (``6c9f7d5b8``)."""
    data = json.dumps(template, sort_keys=True, separators=(",", ":")).encode()
    return safe_encode(str(fnv32a(data)))


def random_suffix(rng: Random, length: int = 5) -> str:
    return "".join(rng.choices(SAFE_ALPHABET, k=length))


class IPPool:
    """Addresses of one subnet handed out at random (seeded) and given back on release."""

    def __init__(self, cidr: str, rng: Random, *, skip_first: int = 1) -> None:
        self.network = ipaddress.ip_network(cidr, strict=False)
        self.rng = rng
        self.used: set[int] = set()
        self.first = int(self.network.network_address) + skip_first
        self.last = int(self.network.broadcast_address) - 1
        self._cursor = self.first

    def take(self, address: str | None = None) -> str:
        if address:
            self.used.add(int(ipaddress.ip_address(address)))
            return address
        size = self.last - self.first + 1
        for _ in range(32):
            candidate = self.first + self.rng.randrange(size)
            if candidate not in self.used:
                self.used.add(candidate)
                return str(ipaddress.ip_address(candidate))
        for candidate in range(self.first, self.last + 1):
            if candidate not in self.used:
                self.used.add(candidate)
                return str(ipaddress.ip_address(candidate))
        raise RuntimeError(f"address pool {self.network} is exhausted")

    def next_sequential(self) -> str:
        """Lowest free address (Service ClusterIPs read better in order)."""
        for candidate in itertools.chain(range(self._cursor, self.last + 1), range(self.first, self._cursor)):
            if candidate not in self.used:
                self.used.add(candidate)
                self._cursor = candidate + 1
                return str(ipaddress.ip_address(candidate))
        raise RuntimeError(f"address pool {self.network} is exhausted")

    def release(self, address: str | None) -> None:
        if address:
            with contextlib.suppress(ValueError):
                self.used.discard(int(ipaddress.ip_address(address)))
