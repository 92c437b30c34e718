"""`rohe-ensemble` must return exactly what the plain enumeration returns, for any catalog and contract."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rohe.core.contracts import parse_contract
from rohe.core.errors import NotFound
from rohe.core.profiles import ModelProfile, ProfileCatalog
from rohe.serving.selection import NaiveEnumeration, RoheEnsemble

# A few repeated values make exact ties common, so the tie-break is exercised too.
fractions = st.one_of(st.sampled_from([0.5, 0.9]), st.floats(0.01, 0.99))
maybe = lambda s: st.one_of(st.none(), s)  # noqa: E731


@st.composite
def catalogs(draw: st.DrawFn) -> ProfileCatalog:
    models = draw(st.integers(1, 5))
    nodes = draw(st.integers(1, 3))
    profiles = []
    for m in range(models):
        for n in range(nodes):
            if draw(st.integers(0, 9)) == 0:
                continue  # not every model is profiled on every node type
            profiles.append(
                ModelProfile(
                    model=f"m{m}",
                    node_type=f"n{n}",
                    throughput_rps=draw(maybe(st.sampled_from([2.0, 5.0, 7.5, 30.0]))),
                    accuracy=draw(fractions),
                    confidence=draw(maybe(fractions)),
                    class_accuracy={c: draw(fractions) for c in range(3)},
                    class_confidence={c: draw(fractions) for c in range(3)},
                    latency_p99_ms=draw(st.sampled_from([10.0, 80.0, 200.0])),
                    cost_base=draw(st.sampled_from([0.5, 1.0, 2.5])),
                    cost_per_request=draw(maybe(st.sampled_from([0.0, 0.01]))),
                )
            )
    if not profiles:  # keep the classes every generated contract may name
        fallback = ModelProfile(model="m0", node_type="n0", accuracy=0.5, class_accuracy=dict.fromkeys(range(3), 0.5))
        profiles.append(fallback)
    return ProfileCatalog.of(profiles)


@st.composite
def objectives(draw: st.DrawFn) -> dict[str, Any]:
    metric = draw(st.sampled_from(["accuracy", "miss_rate", "confidence", "response_time_p99", "throughput", "cost"]))
    doc: dict[str, Any] = {
        "metric": metric,
        "aggregate": draw(st.sampled_from(["mean", "max", "min", "prod", "rprod", "sum"])),
        "direction": draw(st.sampled_from(["max", "min"])),
        "weight": draw(st.sampled_from([0.0, 0.5, 1.0, 2.0])),
    }
    if metric in ("accuracy", "miss_rate", "confidence"):
        if metric == "miss_rate" or draw(st.booleans()):
            doc["classes"] = draw(st.lists(st.integers(0, 2), min_size=1, max_size=3, unique=True))
        low, high = draw(st.sampled_from([(0.001, 0.5), (0.1, 1.0), (0.5, 0.99)]))
    else:
        low, high = draw(st.sampled_from([(1.0, 100.0), (0.5, 20.0), (5.0, 500.0)]))
    doc["min"], doc["max"] = low, high
    doc["scale"] = {"kind": draw(st.sampled_from(["linear", "log"])), "base": draw(st.sampled_from([2, 10]))}
    return doc


@st.composite
def contracts(draw: st.DrawFn) -> Any:
    low = draw(st.integers(1, 3))
    objs = draw(st.lists(objectives(), min_size=1, max_size=3))
    for i, o in enumerate(objs):
        o["name"] = f"o{i}"
    doc: dict[str, Any] = {
        "consumer": "prop",
        "ensemble": {"min": low, "max": draw(st.integers(low, 3))},
        "required_throughput": draw(st.sampled_from([1.0, 10.0, 15.0])),
        "objectives": objs,
    }
    if draw(st.booleans()):
        doc["deadline_ms"] = draw(st.sampled_from([50.0, 150.0, 1000.0]))
    if draw(st.booleans()):
        doc["constraints"] = [{"metric": "cost", "aggregate": "sum", "max": draw(st.sampled_from([2.0, 6.0, 20.0]))}]
    return parse_contract(doc)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(catalog=catalogs(), contract=contracts())
def test_rohe_ensemble_equals_naive(catalog: ProfileCatalog, contract: Any) -> None:
    try:
        expected = NaiveEnumeration().search(contract, catalog)
    except NotFound:
        try:
            RoheEnsemble().search(contract, catalog)
        except NotFound:
            return
        raise AssertionError("rohe-ensemble found an ensemble the reference says is infeasible") from None
    got = RoheEnsemble().search(contract, catalog)
    assert got.key == expected.key
    assert [m.replicas for m in got.members] == [m.replicas for m in expected.members]
    assert abs(got.score - expected.score) <= 1e-9
    assert got.metrics == expected.metrics
