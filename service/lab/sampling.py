"""The stratified random sample of a pilot, reproducible from its seed. Pure: no I/O.

* **Strata**: a panellist's stratum is their value in each of the pilot's dimensions
  (district code, age band, household size band), joined with ``|`` in the pilot's order,
  e.g. ``annelinn|30-44``; a dimension left out of the profile counts as ``unknown``.
  Without dimensions everyone is in the one stratum ``all``.
* **Allocation** (proportional, the default): each stratum's quota is the target times its
  share of the eligible pool, rounded down; the seats left go one each to the strata with
  the largest remainders (ties: the larger stratum, then the stratum's name). No stratum gets
  more than its people; when the pool is smaller than the target, everyone is drawn.
  Custom: the pilot's own quota per stratum, capped at the stratum's people.
* **Draw**: the strata in order of their names; in each, the eligible ids sorted, and
  ``random.Random(seed).sample`` picks the quota from them (one generator for the whole
  draw). The same pool and seed give the same sample on any machine; the pool's SHA-256 is
  stored with the draw so that a re-run can tell it saw the same pool.
"""

from __future__ import annotations

import hashlib
import random
import uuid
from collections.abc import Mapping

UNKNOWN = "unknown"
EVERYONE = "all"


def household_band(size: int | None) -> str:
    if size is None:
        return UNKNOWN
    if size >= 5:
        return "5+"
    if size >= 3:
        return "3-4"
    return str(size)


def stratum_key(dimensions: list[str], values: Mapping[str, str | None]) -> str:
    if not dimensions:
        return EVERYONE
    return "|".join(values.get(d) or UNKNOWN for d in dimensions)


def allocate(
    target: int, populations: Mapping[str, int], quotas: Mapping[str, int] | None = None
) -> dict[str, int]:
    """Quotas per stratum (see the module's docstring)."""
    if quotas is not None:
        return {s: max(0, min(quotas.get(s, 0), n)) for s, n in populations.items()}
    total = sum(populations.values())
    if total <= target:
        return dict(populations)
    shares = {s: target * n / total for s, n in populations.items()}
    allocated = {s: int(share) for s, share in shares.items()}
    left = target - sum(allocated.values())
    order = sorted(populations, key=lambda s: (-(shares[s] - allocated[s]), -populations[s], s))
    for stratum in order[:left]:
        allocated[stratum] += 1
    return allocated


def draw(
    pool: Mapping[str, list[uuid.UUID]], quotas: Mapping[str, int], seed: int
) -> dict[str, list[uuid.UUID]]:
    """The sample: per stratum, ``quotas[stratum]`` ids from ``pool[stratum]``."""
    # Reproducible by design (the seed is published with the draw), not a secret.
    generator = random.Random(seed)  # noqa: S311
    drawn: dict[str, list[uuid.UUID]] = {}
    for stratum in sorted(pool):
        people = sorted(pool[stratum])
        wanted = min(quotas.get(stratum, 0), len(people))
        drawn[stratum] = sorted(generator.sample(people, wanted)) if wanted else []
    return drawn


def pool_digest(pool: Mapping[str, list[uuid.UUID]]) -> str:
    digest = hashlib.sha256()
    for stratum in sorted(pool):
        digest.update(stratum.encode())
        for person in sorted(pool[stratum]):
            digest.update(person.bytes)
    return digest.hexdigest()
