"""The one-sided Mann-Whitney U test the regression gate uses (scripts/compare.py).

Debian's python3-scipy cannot be installed beside libboost1.81-dev (it depends on python3-pythran
-> libboost-dev 1.74), so the test is here. It follows scipy.stats.mannwhitneyu (method="auto",
use_continuity=True) and is checked against scipy 1.10.1's values in tests/python/unit/gate/
test_compare.py.
"""
from __future__ import annotations

import math
from functools import lru_cache

EXACT_LIMIT = 8  # exact distribution below this many samples per side without ties (as scipy)


@lru_cache(maxsize=None)
def _u_counts(n1: int, n2: int) -> tuple[int, ...]:
    """Number of arrangements giving each U = 0..n1*n2 when neither sample has ties."""
    if n1 == 0 or n2 == 0:
        return (1,)
    counts = [0] * (n1 * n2 + 1)
    # The largest value belongs to sample 1 (adding n2 to U) or to sample 2 (adding nothing).
    for u, c in enumerate(_u_counts(n1 - 1, n2)):
        counts[u + n2] += c
    for u, c in enumerate(_u_counts(n1, n2 - 1)):
        counts[u] += c
    return tuple(counts)


def _exact_sf(u: float, n1: int, n2: int) -> float:
    """P(U >= u) under the null hypothesis, exactly."""
    counts = _u_counts(n1, n2)
    total = sum(counts)
    return sum(c for k, c in enumerate(counts) if k >= u) / total


def _ranks(values: list[float]) -> tuple[list[float], list[int]]:
    """Midranks (1-based) and the sizes of groups of ties."""
    order = sorted(range(len(values)), key=lambda i: values[i])
    ranks = [0.0] * len(values)
    ties = []
    i = 0
    while i < len(order):
        j = i
        while j + 1 < len(order) and values[order[j + 1]] == values[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        ties.append(j - i + 1)
        i = j + 1
    return ranks, ties


def mann_whitney_u(x: list[float], y: list[float], alternative: str) -> tuple[float, float]:
    """U statistic of x and the p-value; alternative 'greater' means x tends to exceed y."""
    n1, n2 = len(x), len(y)
    if n1 == 0 or n2 == 0:
        raise ValueError("both samples need values")
    ranks, ties = _ranks(list(x) + list(y))
    u1 = sum(ranks[:n1]) - n1 * (n1 + 1) / 2
    u2 = n1 * n2 - u1
    has_ties = any(t > 1 for t in ties)
    if alternative == "greater":
        u, factor = u1, 1
    elif alternative == "less":
        u, factor = u2, 1
    elif alternative == "two-sided":
        u, factor = max(u1, u2), 2
    else:
        raise ValueError(f"unknown alternative {alternative!r}")
    if max(n1, n2) < EXACT_LIMIT and not has_ties:
        p = _exact_sf(u, n1, n2) * factor
    else:
        n = n1 + n2
        tie_term = sum(t ** 3 - t for t in ties) / (n * (n - 1))
        sigma = math.sqrt(n1 * n2 / 12 * ((n + 1) - tie_term))
        if sigma == 0:
            return u1, 1.0  # every value equal: no evidence either way
        z = (u - n1 * n2 / 2 - 0.5) / sigma
        p = 0.5 * math.erfc(z / math.sqrt(2)) * factor
    return u1, min(max(p, 0.0), 1.0)
