"""M/M/c estimates for sizing model services: c replicas of rate mu each, Poisson arrivals of rate lam.

Used where an answer is needed before anything runs (contract-derived replica counts, a controller's "what if
I scale to c"): a profile gives mu (throughput_rps of one replica) and its own p99 service time, the queue adds
the waiting. The p99 response estimate is the profiled p99 plus the 99th percentile of the M/M/c wait:

    P(wait > t) = C(c, a) * exp(-(c*mu - lam) * t),  a = lam / mu   (Erlang C)
    wait_p99    = max(0, ln(C / 0.01) / (c*mu - lam))

which overstates a little (service-time and wait quantiles do not add), on the safe side for sizing.
"""

from __future__ import annotations

import math

QUANTILE = 0.99


def erlang_c(servers: int, offered: float) -> float:
    """Probability that an arrival waits, for `servers` servers and offered load `offered` = lam / mu."""
    if servers <= 0:
        return 1.0
    if offered <= 0:
        return 0.0
    if offered >= servers:
        return 1.0
    # Erlang B by its stable recurrence, then C from B.
    b = 1.0
    for k in range(1, servers + 1):
        b = offered * b / (k + offered * b)
    rho = offered / servers
    return b / (1 - rho + rho * b)


def wait_quantile_s(servers: int, lam: float, mu: float, quantile: float = QUANTILE) -> float:
    """The `quantile` of the waiting time in seconds; inf when the queue is unstable (lam >= c * mu)."""
    if lam <= 0:
        return 0.0
    if servers <= 0 or mu <= 0 or lam >= servers * mu:
        return math.inf
    waits = erlang_c(servers, lam / mu)
    tail = 1 - quantile
    if waits <= tail:
        return 0.0
    return math.log(waits / tail) / (servers * mu - lam)


def response_p99_ms(servers: int, lam: float, mu: float, service_p99_ms: float) -> float:
    """Estimated p99 response time in ms of `servers` replicas under `lam` requests/s."""
    return service_p99_ms + wait_quantile_s(servers, lam, mu) * 1000.0


def replicas_for(
    lam: float, mu: float, service_p99_ms: float, deadline_ms: float | None, utilisation: float = 0.8, limit: int = 256
) -> int | None:
    """Fewest replicas keeping utilisation at or below `utilisation` and the p99 estimate within the deadline;
    None when even `limit` replicas cannot meet the deadline (the model is too slow for it on this node type)."""
    if mu <= 0:
        return None
    if deadline_ms is not None and service_p99_ms > deadline_ms:
        return None
    servers = max(1, math.ceil(lam / (mu * utilisation)) if lam > 0 else 1)
    while servers <= limit:
        if deadline_ms is None or response_p99_ms(servers, lam, mu, service_p99_ms) <= deadline_ms:
            return servers
        servers += 1
    return None
