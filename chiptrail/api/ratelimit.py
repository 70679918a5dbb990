"""Token-bucket rate limits per API key on submission endpoints (in-process, per server).

No I/O: the clock is injected (seconds, monotonic) so tests step time without sleeping.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class RateLimit:
    """A bucket of ``burst`` tokens refilled at ``rate_per_s``; one request costs one token."""

    rate_per_s: float = 50.0
    burst: int = 200


@dataclass
class TokenBuckets:
    """One token bucket per key. ``take`` returns 0.0 when allowed, else the seconds to wait.

    The table holds at most ``max_keys`` buckets, so a caller who invents keys (client addresses,
    guessed key ids) cannot grow memory without bound. When a new key would pass the bound, buckets
    that have refilled (the same as no bucket at all) are dropped first; if none has, the one
    updated longest ago (the fullest) is dropped.
    """

    limit: RateLimit
    clock_s: Callable[[], float]
    max_keys: int = 100_000
    _tokens: dict[str, float] = field(default_factory=dict)
    _updated_s: dict[str, float] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def peek(self, key: str) -> float:
        """0.0 when ``key``'s bucket holds a token (none is spent), else seconds until one does."""
        now_s = self.clock_s()
        with self._lock:
            last_s = self._updated_s.get(key, now_s)
            tokens = self._tokens.get(key, float(self.limit.burst))
            tokens = min(float(self.limit.burst), tokens + (now_s - last_s) * self.limit.rate_per_s)
            return 0.0 if tokens >= 1.0 else (1.0 - tokens) / self.limit.rate_per_s

    def take(self, key: str) -> float:
        """Spend one token of ``key``'s bucket; 0.0 if allowed, else seconds until one is free."""
        now_s = self.clock_s()
        with self._lock:
            last_s = self._updated_s.get(key, now_s)
            tokens = self._tokens.get(key, float(self.limit.burst))
            tokens = min(float(self.limit.burst), tokens + (now_s - last_s) * self.limit.rate_per_s)
            if key not in self._updated_s and len(self._updated_s) >= self.max_keys:
                self._evict(now_s)
            self._updated_s[key] = now_s
            if tokens >= 1.0:
                self._tokens[key] = tokens - 1.0
                return 0.0
            self._tokens[key] = tokens
            return (1.0 - tokens) / self.limit.rate_per_s

    def _evict(self, now_s: float) -> None:
        """Make room for one key (called with the lock held)."""
        rate, burst = self.limit.rate_per_s, float(self.limit.burst)
        full = [
            k
            for k, last_s in self._updated_s.items()
            if self._tokens.get(k, burst) + (now_s - last_s) * rate >= burst
        ]
        if not full:
            full = [min(self._updated_s, key=self._updated_s.__getitem__)]
        for k in full:
            del self._updated_s[k]
            self._tokens.pop(k, None)

    def __len__(self) -> int:
        return len(self._updated_s)
