"""The budget counters' one decision, in Lua on Redis and in Python for one process; Flask-free.

"Does this call fit in every budget it spends? then spend it in all of them" must not be split
between workers: checked, then counted, two workers each with the last unit left would both
pass the check. Redis runs :data:`SPEND_SCRIPT` whole; :func:`spend_in_memory` is the same
arithmetic under the memory storage's lock. A cost added after the call (a measured cost, which
may overdraw) goes through the same script without the check.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Final

# KEYS: the counters of one window. ARGV: cost, ttl (seconds), 1 to check first (else add
# whatever), then each counter's limit. Returns {0 | the index of the counter the call does not
# fit in, then each counter's units used} (after the spend when spent, as they were if not).
# A call costing 0 spends nothing and is never refused: it reads the counters.
SPEND_SCRIPT: Final = """
local cost = tonumber(ARGV[1])
local used = {}
for i = 1, #KEYS do
  used[i] = tonumber(redis.call('get', KEYS[i]) or '0')
end
if ARGV[3] == '1' and cost > 0 then
  for i = 1, #KEYS do
    if used[i] + cost > tonumber(ARGV[3 + i]) then
      return {i, unpack(used)}
    end
  end
end
if cost ~= 0 then
  for i = 1, #KEYS do
    used[i] = redis.call('incrby', KEYS[i], cost)
    if redis.call('ttl', KEYS[i]) < 0 then
      redis.call('expire', KEYS[i], ARGV[2])
    end
  end
end
return {0, unpack(used)}
"""


def spend_in_memory(used: list[int], limits: list[int], cost: int, *, check: bool,
                    store: Callable[[int, int], None]) -> tuple[int, list[int]]:
    """:data:`SPEND_SCRIPT` on counters read under a lock; ``store(i, value)`` writes one."""
    if check and cost > 0:
        for index, (units, limit) in enumerate(zip(used, limits, strict=True), start=1):
            if units + cost > limit:
                return index, used
    if cost != 0:
        used = [units + cost for units in used]
        for index, units in enumerate(used):
            store(index, units)
    return 0, used
