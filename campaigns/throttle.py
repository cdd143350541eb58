"""The global send throttle, shared by every worker on every machine through Redis.

One Lua script decides atomically, per message. The global rate is a schedule (GCRA-style
virtual scheduling): each message gets the next free slot, 1/rate after the previous one,
and its worker sleeps until then, so slots are never lost while workers are busy and no
one-second window gets more than rate + 1 grants. The recipient's domain has a token
bucket of its own (settings.DOMAIN_RATE_LIMITS), and fixed-window counters hold the hourly
cap and the warm-up daily cap. Nothing is taken unless every limit allows it, so a message
refused for its domain costs the others nothing.

The same call also writes the sending worker's journal (see campaigns/pipeline.py): the
messages accepted since the previous call, and, when the message may go at once, that it
is about to go on the wire. One round trip per message instead of two.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from django.conf import settings
from django.utils import timezone

from config.redis import client

# KEYS: the global schedule, the domain bucket (if any), window counters, the journal (if any).
# ARGV: global rate, number of buckets, number of limits, a (rate per second, capacity) pair
# per bucket and a (limit, window seconds) pair per counter, then the message going on the
# wire ("" for none) and the ids accepted since the last call.
# Returns {0, microseconds to wait for the slot} when taken, {-1, 0} when the journal's claim was
# revoked, else {index of the blocking limit, ms}.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate, buckets, limits = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local journal = KEYS[limits + 2]
local wire = ARGV[2 * limits + 4]
if journal and redis.call('HEXISTS', journal, 'revoked') == 1 then return {-1, 0} end
if journal then
  for i = 2 * limits + 5, #ARGV do redis.call('HSET', journal, ARGV[i], 's') end
end
local tokens = {}
local blocked, longest = 0, 0
for i = 1, limits do
  local key, a, b = KEYS[i + 1], tonumber(ARGV[2 * i + 2]), tonumber(ARGV[2 * i + 3])
  local wait = 0
  if i <= buckets then
    local state = redis.call('HMGET', key, 't', 'ts')
    local level = tonumber(state[1]) or b
    local since = tonumber(state[2]) or now
    level = math.min(b, level + math.max(0, now - since) * a)
    tokens[i] = level
    if level < 1 then wait = (1 - level) / a end
  else
    local used = tonumber(redis.call('GET', key) or '0')
    if used >= a then wait = b - (now % b) end
  end
  if wait > longest then blocked, longest = i, wait end
end
if blocked > 0 then return {blocked, math.ceil(longest * 1000)} end
for i = 1, limits do
  local key, a, b = KEYS[i + 1], tonumber(ARGV[2 * i + 2]), tonumber(ARGV[2 * i + 3])
  if i <= buckets then
    redis.call('HSET', key, 't', string.format('%.6f', tokens[i] - 1), 'ts', string.format('%.6f', now))
    redis.call('EXPIRE', key, math.ceil(b / a) + 60)
  else
    redis.call('INCR', key)
    redis.call('EXPIRE', key, math.ceil(b) + 60)
  end
end
local slot = math.max(now, tonumber(redis.call('GET', KEYS[1]) or '0'))
redis.call('SET', KEYS[1], string.format('%.6f', slot + 1 / rate), 'EX', 3600)
if journal and wire ~= '' and slot <= now then
  redis.call('HSET', journal, wire, 'w')
  redis.call('EXPIRE', journal, 86400)
end
return {0, math.floor((slot - now) * 1000000)}
"""

PREFIX = "rapport:throttle"
# A domain bucket holds at most this many seconds of its rate (and at least one token).
BURST_SECONDS = 0.05


class Limit(StrEnum):
    NONE = ""
    # The worker's claim was taken back after its lease ran out: it must stop sending.
    REVOKED = "revoked"
    DOMAIN = "domain"
    HOURLY = "hourly"
    DAILY = "daily"


@dataclass(frozen=True, slots=True)
class Decision:
    """Allowed (``blocked_by`` is Limit.NONE) after sleeping ``wait`` seconds for its slot;
    else refused by ``blocked_by`` for ``wait`` seconds."""

    blocked_by: Limit
    wait: float

    @property
    def allowed(self) -> bool:
        return self.blocked_by is Limit.NONE


@dataclass(slots=True)
class Note:
    """What a worker's journal learns with this token: ``wire`` goes out next, ``accepted`` went out."""

    key: str
    wire: int | str = ""
    accepted: list[int] = field(default_factory=list)


def warmup_cap(today: date | None = None) -> int | None:
    """Today's cap from the warm-up schedule; None once the schedule is over (or unset)."""
    caps, start = settings.SEND_WARMUP_DAILY_CAPS, settings.SEND_WARMUP_START
    if not caps or not start:
        return None
    day = ((today or timezone.now().date()) - date.fromisoformat(start)).days
    return caps[max(day, 0)] if day < len(caps) else None


class Throttle:
    """Reads the limits once; ``take(domain)`` asks Redis for one message's token."""

    def __init__(self) -> None:
        self.rate = settings.SEND_RATE_PER_SECOND
        self.hourly = settings.SEND_RATE_PER_HOUR
        self.domains = settings.DOMAIN_RATE_LIMITS
        self.daily = warmup_cap()
        self.script = client().register_script(_TAKE)

    @staticmethod
    def _bucket(rate: float) -> tuple[float, float]:
        return rate, max(1.0, rate * BURST_SECONDS)

    def take(self, domain: str, journal: Note | None = None) -> Decision:
        """Reserve this message's slot; with a ``journal`` note, record it on the wire when the slot is now."""
        keys, args, limits = [f"{PREFIX}:global"], [], []
        if domain in self.domains:
            keys.append(f"{PREFIX}:domain:{domain}")
            args.extend(self._bucket(self.domains[domain]))
            limits.append(Limit.DOMAIN)
        buckets = len(limits)
        if self.hourly:
            keys.append(f"{PREFIX}:hour:{int(time.time() // 3600)}")
            args.extend((self.hourly, 3600))
            limits.append(Limit.HOURLY)
        if self.daily is not None:
            keys.append(f"{PREFIX}:day:{timezone.now().date().isoformat()}")
            args.extend((self.daily, 86400))
            limits.append(Limit.DAILY)
        note: list = ["", *(journal.accepted if journal else [])]
        if journal:
            keys.append(journal.key)
            note[0] = journal.wire
        index, wait = self.script(keys=keys, args=[self.rate, buckets, len(limits), *args, *note])
        if journal:
            journal.accepted.clear()
        if index < 0:
            return Decision(Limit.REVOKED, 0)
        if index:
            return Decision(limits[index - 1], wait / 1000)
        return Decision(Limit.NONE, wait / 1_000_000)
