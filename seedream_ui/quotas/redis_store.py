"""The shared store: Redis, for several app processes behind a load balancer.

A reservation's read-judge-write is one Lua script, which Redis runs without interleaving any other command, so
processes on different machines cannot both grant the last image. The script mirrors `store.judge`.
Keys (prefix `seedream:`): per visitor a sorted set of reservation ids by time, a hash of their images and a
sorted set of in-flight ids by lease end; per UTC day the spend, totals, and per-visitor totals (kept 8 days).
Visitors appear only as salted hashes. A single Redis (or a primary with replicas), not Redis Cluster: the
script touches keys of one visitor and of the day together.
"""

from __future__ import annotations

import secrets
import uuid
from typing import Any

import redis
from redis.backoff import NoBackoff
from redis.retry import Retry

from seedream_ui.quotas.errors import StoreError
from seedream_ui.quotas.limits import DAY, KEEP_SECONDS, Limits
from seedream_ui.quotas.store import (
    Ask,
    DayTotal,
    Decision,
    Usage,
    VisitorTotal,
    ranked,
    utc_day,
)

KEEP = int(KEEP_SECONDS)

# KEYS: events, images, in_flight, spend, day totals, day visitor images, day visitor cost, day visitor refusals
# ARGV: now, id, images, cost, lease_until, per_hour, per_day, concurrency, budget, visitor, keep
RESERVE = """
local now, id, images, cost = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3]), tonumber(ARGV[4])
local per_hour, per_day = tonumber(ARGV[6]), tonumber(ARGV[7])
local concurrency, budget, visitor, keep = tonumber(ARGV[8]), tonumber(ARGV[9]), ARGV[10], tonumber(ARGV[11])
local day_ago = now - 86400
local old = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', day_ago)
if #old > 0 then
  redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', day_ago)
  redis.call('HDEL', KEYS[2], unpack(old))
end
redis.call('ZREMRANGEBYSCORE', KEYS[3], '-inf', now)
local rows = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
local events, hour_used, day_used = {}, 0, 0
for i = 1, #rows, 2 do
  local n = tonumber(redis.call('HGET', KEYS[2], rows[i]) or '0')
  local at = tonumber(rows[i + 1])
  day_used = day_used + n
  if at > now - 3600 then hour_used = hour_used + n end
  events[#events + 1] = rows[i + 1]
  events[#events + 1] = tostring(n)
end
local in_flight = redis.call('ZCARD', KEYS[3])
local spent = tonumber(redis.call('GET', KEYS[4]) or '0')
local limit = ''
if budget > 0 and spent + cost > budget then limit = 'budget'
elseif per_day > 0 and day_used + images > per_day then limit = 'day'
elseif per_hour > 0 and hour_used + images > per_hour then limit = 'hour'
elseif concurrency > 0 and in_flight >= concurrency then limit = 'concurrency' end
if limit ~= '' then
  redis.call('HINCRBY', KEYS[5], 'refusals', 1)
  redis.call('ZINCRBY', KEYS[8], 1, visitor)
  redis.call('EXPIRE', KEYS[5], keep)
  redis.call('EXPIRE', KEYS[8], keep)
else
  redis.call('ZADD', KEYS[1], now, id)
  redis.call('HSET', KEYS[2], id, images)
  redis.call('ZADD', KEYS[3], tonumber(ARGV[5]), id)
  redis.call('INCRBY', KEYS[4], cost)
  redis.call('HINCRBY', KEYS[5], 'images', images)
  redis.call('HINCRBY', KEYS[5], 'cost', cost)
  redis.call('ZINCRBY', KEYS[6], images, visitor)
  redis.call('ZINCRBY', KEYS[7], cost, visitor)
  for i = 1, 3 do redis.call('EXPIRE', KEYS[i], 86400 + 3600) end
  for i = 4, 7 do redis.call('EXPIRE', KEYS[i], keep) end
end
return {limit, in_flight, spent, events}
"""

# KEYS: images, in_flight, spend, day totals, day visitor images, day visitor cost; ARGV: id, images, price, visitor
SETTLE = """
redis.call('ZREM', KEYS[2], ARGV[1])
local old = redis.call('HGET', KEYS[1], ARGV[1])
if not old then return 0 end
local delta = tonumber(ARGV[2]) - tonumber(old)
if delta == 0 then return 0 end
local cost = delta * tonumber(ARGV[3])
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('INCRBY', KEYS[3], cost)
redis.call('HINCRBY', KEYS[4], 'images', delta)
redis.call('HINCRBY', KEYS[4], 'cost', cost)
redis.call('ZINCRBY', KEYS[5], delta, ARGV[4])
redis.call('ZINCRBY', KEYS[6], cost, ARGV[4])
return delta
"""


class RedisStore:
    description = "Redis (SEEDREAM_REDIS_URL)"

    def __init__(self, client: redis.Redis, *, prefix: str = "seedream") -> None:
        self.client = client
        self.prefix = prefix
        self._reserve = client.register_script(RESERVE)
        self._settle = client.register_script(SETTLE)

    @classmethod
    def from_url(cls, url: str, **options: Any) -> RedisStore:
        # Short timeouts: when Redis is down, the visitor hears so at once instead of after a long hang.
        # One retry, on a broken connection only (a Redis restart leaves stale ones in the pool): never after a
        # timeout, when a reservation script may have run and running it again would count it twice.
        options = {
            "socket_connect_timeout": 2.0,
            "socket_timeout": 2.0,
            "health_check_interval": 30,
            "retry": Retry(NoBackoff(), 1, supported_errors=(redis.ConnectionError,)),
        } | options
        return cls(redis.Redis.from_url(url, **options))

    def _visitor_keys(self, visitor: str) -> list[str]:
        return [f"{self.prefix}:v:{visitor}:{name}" for name in ("events", "images", "inflight")]

    def _day_keys(self, day: str) -> list[str]:
        names = ("spend", "totals", "visitor_images", "visitor_cost", "visitor_refusals")
        return [f"{self.prefix}:d:{day}:{name}" for name in names]

    def _call(self, function: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return function(*args, **kwargs)
        except redis.RedisError as exc:
            # The message is the exception's class only: redis errors can repeat the URL.
            raise StoreError(f"Redis unavailable ({type(exc).__name__})") from None

    def reserve(self, ask: Ask, limits: Limits) -> Decision:
        keys = self._visitor_keys(ask.visitor) + self._day_keys(ask.day)
        argv = [repr(ask.now), ask.id, ask.images, ask.cost_micros, repr(ask.lease_until)]
        argv += [limits.images_per_hour, limits.images_per_day, limits.concurrency, limits.budget_micros]
        argv += [ask.visitor, KEEP]
        limit, in_flight, spent, flat = self._call(self._reserve, keys=keys, args=argv)
        events = tuple((float(flat[i]), int(flat[i + 1])) for i in range(0, len(flat), 2))
        return Decision(_text(limit) or None, Usage(events, int(in_flight), int(spent)))

    def settle(self, ask: Ask, images: int) -> None:
        _, stored, in_flight = self._visitor_keys(ask.visitor)
        spend, totals, visitor_images, visitor_cost, _ = self._day_keys(ask.day)
        keys = [stored, in_flight, spend, totals, visitor_images, visitor_cost]
        self._call(self._settle, keys=keys, args=[ask.id, images, ask.price_micros, ask.visitor])

    def usage(self, visitor: str, now: float) -> Usage:
        events_key, images_key, in_flight_key = self._visitor_keys(visitor)
        pipe = self.client.pipeline(transaction=True)
        pipe.zrangebyscore(events_key, f"({now - DAY!r}", "+inf", withscores=True)
        pipe.hgetall(images_key)
        pipe.zcount(in_flight_key, f"({now!r}", "+inf")
        pipe.get(self._day_keys(utc_day(now))[0])
        rows, images, in_flight, spent = self._call(pipe.execute)
        events = tuple((float(at), int(images.get(member, 0))) for member, at in rows)
        return Usage(events, int(in_flight), int(spent or 0))

    def record_refusal(self, visitor: str, now: float) -> None:
        _, totals, _, _, refusals = self._day_keys(utc_day(now))
        pipe = self.client.pipeline(transaction=True)
        pipe.hincrby(totals, "refusals", 1)
        pipe.zincrby(refusals, 1, visitor)
        pipe.expire(totals, KEEP)
        pipe.expire(refusals, KEEP)
        self._call(pipe.execute)

    def record_key_failure(self, visitor: str, now: float, window: float) -> None:
        key = f"{self.prefix}:v:{visitor}:key_failures"
        pipe = self.client.pipeline(transaction=True)
        pipe.zremrangebyscore(key, "-inf", repr(now - window))
        pipe.zadd(key, {uuid.uuid4().hex: now})
        pipe.expire(key, int(window) + 1)
        self._call(pipe.execute)

    def key_failures(self, visitor: str, now: float, window: float) -> list[float]:
        key = f"{self.prefix}:v:{visitor}:key_failures"
        rows = self._call(self.client.zrangebyscore, key, f"({now - window!r}", "+inf", withscores=True)
        return [float(at) for _, at in rows]

    def report(self, days: list[str]) -> tuple[list[DayTotal], list[VisitorTotal]]:
        pipe = self.client.pipeline(transaction=False)
        for day in days:
            _, totals, images, cost, refusals = self._day_keys(day)
            pipe.hgetall(totals)
            for key in (images, cost, refusals):
                pipe.zrange(key, 0, -1, withscores=True)
        answers = self._call(pipe.execute)
        day_totals, visitors = [], {}  # type: ignore[var-annotated]
        for index, day in enumerate(days):
            totals, *per_visitor = answers[index * 4 : index * 4 + 4]
            day_totals.append(
                DayTotal(day, *(int(totals.get(name, 0)) for name in (b"images", b"cost", b"refusals")))
            )
            for column, rows in enumerate(per_visitor):
                for member, value in rows:
                    visitors.setdefault(_text(member), [0, 0, 0])[column] += int(value)
        return day_totals, ranked(visitors)

    def salt(self) -> bytes:
        key = f"{self.prefix}:salt"
        self._call(self.client.set, key, secrets.token_bytes(32), nx=True)
        value = self._call(self.client.get, key)
        if not value:
            raise StoreError("Redis lost the visitor salt")
        return bytes(value)

    def close(self) -> None:
        self.client.close()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
