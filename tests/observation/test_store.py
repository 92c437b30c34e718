"""ObservationStore on SQLite and PostgreSQL: idempotent upserts, filters, retention, app CRUD, agent state,
incidents."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from rohe.core.errors import NotFound
from rohe.core.storage import Store
from rohe.observation.metrics import LatencyStats, WindowKind, WindowMetrics
from rohe.observation.registration import build_registration
from rohe.observation.store import RUNNING, STOPPED, ObservationStore
from rohe.observation.violations import Cause, CauseKind, Violation
from rohe.quality import Anomaly, Incident, RuleAlert, Severity, build_incident

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)


def window(start_s: int, consumer: str = "*", requests: int = 10, app: str = "shop", run: str = "r1",
           kind: WindowKind = WindowKind.TUMBLING, size_s: int = 10) -> WindowMetrics:
    start = T0 + timedelta(seconds=start_s)
    return WindowMetrics(
        app=app, run=run, consumer=consumer, kind=kind, start=start, end=start + timedelta(seconds=size_s),
        requests=requests, throughput_rps=requests / size_s,
        end_to_end=LatencyStats(count=requests, mean_ms=5, p50_ms=4, p95_ms=9, p99_ms=11, max_ms=12),
        accuracy=0.75, custom={"top5": 0.1},
    )


def violation(start_s: int, app: str = "shop", run: str = "r1") -> Violation:
    start = T0 + timedelta(seconds=start_s)
    return Violation(
        app=app, run=run, consumer="gold", clause="performance_slo.response_time_p99_ms <= 10",
        metric="end_to_end.p99_ms", operator="<=", threshold=10, observed=11,
        window_start=start, window_end=start + timedelta(seconds=10),
        causes=[Cause(kind=CauseKind.STAGE, name="fanout", share=0.8, evidence="fanout p99 9 ms")],
        explanation="p99 11 ms > 10 ms, mostly fan-out",
    )


@pytest.fixture
def obs(store: Store) -> ObservationStore:
    return ObservationStore(store)


def test_windows_round_trip_and_upsert_is_idempotent(obs: ObservationStore) -> None:
    first = [window(0), window(0, consumer="gold", requests=4), window(10)]
    obs.save_windows(first)
    obs.save_windows(first)  # the same windows again: nothing new
    stored = obs.list_windows("shop")
    assert len(stored) == 3
    # Oldest first; the two windows of [0, 10) differ only by consumer, whose order is the database's collation.
    assert {w.consumer for w in stored[:2]} == {"*", "gold"} and stored[2] == first[2]
    assert all(w in first for w in stored)
    # Re-emitting a window with more requests replaces the stored one instead of adding a row.
    bigger = window(0, requests=25)
    obs.save_windows([bigger])
    stored = obs.list_windows("shop", consumer="*")
    assert [w.requests for w in stored] == [25, 10]
    assert stored[0] == bigger


def test_window_keys_compare_by_instant_not_by_zone(obs: ObservationStore) -> None:
    utc = window(0)
    plus_two = utc.model_copy(update={"start": utc.start.astimezone(timezone(timedelta(hours=2))),
                                      "end": utc.end.astimezone(timezone(timedelta(hours=2)))})
    obs.save_windows([utc])
    obs.save_windows([plus_two])
    assert len(obs.list_windows("shop")) == 1


def test_window_filters(obs: ObservationStore) -> None:
    obs.save_windows([window(0), window(10), window(20, consumer="gold"), window(0, run="r2"),
                      window(0, app="other"), window(0, kind=WindowKind.SLIDING, size_s=20)])
    assert {w.run for w in obs.list_windows("shop")} == {"r1", "r2"}
    assert len(obs.list_windows("shop", run="r1")) == 4
    assert [w.consumer for w in obs.list_windows("shop", consumer="gold")] == ["gold"]
    since = obs.list_windows("shop", run="r1", since=T0 + timedelta(seconds=15))
    assert [((w.start - T0).seconds, w.kind) for w in since] == [
        (0, WindowKind.SLIDING), (10, WindowKind.TUMBLING), (20, WindowKind.TUMBLING)]
    newest = obs.list_windows("shop", run="r1", limit=2)
    assert [(w.end - T0).seconds for w in newest] == [20, 30]
    assert obs.list_windows("nobody") == []


def test_retention_purge_deletes_only_windows_that_ended_before_the_cutoff(obs: ObservationStore) -> None:
    obs.save_windows([window(0), window(10), window(20), window(0, app="other")])
    removed = obs.purge_windows(T0 + timedelta(seconds=20))
    assert removed == 2  # shop [0,10) and other [0,10); [10,20) ends exactly at the cutoff and stays
    assert [(w.start - T0).seconds for w in obs.list_windows("shop")] == [10, 20]
    assert obs.purge_windows(T0) == 0
    obs.save_windows([window(0, run="r2"), window(0, app="other")])
    assert obs.window_runs() == [("other", "r1"), ("shop", "r1"), ("shop", "r2")]
    assert obs.purge_windows(T0 + timedelta(hours=1), app="shop", run="r2") == 1
    assert obs.window_runs() == [("other", "r1"), ("shop", "r1")]


def test_violations_are_idempotent_by_id_and_keep_their_explanations(obs: ObservationStore) -> None:
    v1, v2 = violation(10), violation(0)
    obs.save_violations([v1, v2])
    obs.save_violations([v1])
    stored = obs.list_violations("shop")
    assert stored == [v2, v1]
    assert stored[1].causes[0].name == "fanout"
    assert obs.list_violations("shop", run="other") == []


def incident(start_s: int, consumer: str = "gold", run: str = "r1") -> Incident:
    """A violation blaming stage fanout, an anomaly on model m2 and a rule alert, diagnosed."""
    broken = violation(start_s, run=run).model_copy(update={"consumer": consumer})
    end = broken.window_end
    found = Anomaly("shop", run, consumer, "models.m2.latency.p99_ms", "ewma", 700.0, 9.0, broken.window_start, end)
    alert = RuleAlert("slow", Severity.INFO, "shop", run, consumer, "end_to_end.p99_ms", 11.0, end, "slow: 11 > 10")
    made = build_incident([broken], [found], [window(start_s, consumer=consumer, run=run)], [alert])
    assert made is not None
    return made


def test_incidents_round_trip_idempotent_and_filtered(obs: ObservationStore) -> None:
    late, early, other = incident(10), incident(0, consumer="silver"), incident(0, run="r2")
    obs.save_incidents([late, early, other])
    obs.save_incidents([late])  # the same incident again: still one row
    assert obs.list_incidents("shop") == [early, other, late]  # oldest first
    assert obs.list_incidents("shop", run="r1") == [early, late]
    assert obs.list_incidents("shop", consumer="silver") == [early]
    assert obs.list_incidents("zoo") == []
    stored = obs.list_incidents("shop", run="r1", consumer="gold")[0]
    assert [s.source for s in stored.symptoms] == ["violation", "anomaly", "rule"]
    assert [(c.kind.value, c.name) for c in stored.suspected_causes] == [("stage", "fanout"), ("model", "m2")]
    assert stored.severity is Severity.CRITICAL and stored.window_end == late.window_end


def test_an_llm_narrative_is_not_overwritten_by_a_rediagnosis(obs: ObservationStore) -> None:
    plain = incident(0)
    narrated = plain.model_copy(update={"narrative": "Stage fanout is slow.", "narrative_source": "llm"})
    obs.save_incidents([plain])
    obs.save_incidents([narrated])  # the narrative arrives: replaces the deterministic text
    obs.save_incidents([plain])  # the same window diagnosed again (re-emitted): the narrative stays
    assert obs.list_incidents("shop") == [narrated]


def test_app_registration_crud(obs: ObservationStore) -> None:
    first = obs.save_app(build_registration("shop", "r1", "alice", transport="mqtt"))
    assert first.created_at is not None and first.updated_at is not None
    again = obs.save_app(build_registration("shop", "r1", "bob", url="http://gw:8080"))
    assert again.app_id == first.app_id
    assert again.created_at == first.created_at
    assert again.user == "bob" and again.url == "http://gw:8080"
    assert again.updated_at is not None and again.updated_at >= first.updated_at
    obs.save_app(build_registration("shop", "r2", "alice"))
    obs.save_app(build_registration("zoo", "r1", "carol"))
    assert [(a.app, a.run) for a in obs.list_apps()] == [("shop", "r1"), ("shop", "r2"), ("zoo", "r1")]
    assert obs.get_app("shop", "r1") == again
    with pytest.raises(NotFound) as caught:
        obs.get_app("shop", "r9")
    assert caught.value.problems[0].location == "app"


def test_delete_app_keeps_or_drops_metrics(obs: ObservationStore) -> None:
    for run in ("r1", "r2"):
        obs.save_app(build_registration("shop", run, "alice"))
        obs.save_windows([window(0, run=run)])
        obs.save_violations([violation(0, run=run)])
        obs.save_incidents([incident(0, run=run)])
        obs.save_agent_state("shop", run, {"last_end": "x"})
        obs.set_agent("shop", run, RUNNING, {"app": "shop", "run": run})
    removed = obs.delete_app("shop", "r1", keep_metrics=True)
    assert [a.run for a in removed] == ["r1"]
    assert len(obs.list_windows("shop", run="r1")) == 1 and len(obs.list_violations("shop", run="r1")) == 1
    assert len(obs.list_incidents("shop", run="r1")) == 1
    assert obs.load_agent_state("shop", "r1") is None
    assert [a[1] for a in obs.list_agents()] == ["r2"]
    obs.delete_app("shop", keep_metrics=False)
    assert obs.list_apps() == [] and obs.list_windows("shop") == [] and obs.list_violations("shop") == []
    assert obs.list_incidents("shop") == []
    assert not obs.has_data("shop")
    with pytest.raises(NotFound):
        obs.delete_app("shop")


def test_agent_state_and_registry_survive_reopening(store_url: str) -> None:
    first = ObservationStore(store_url)
    first.save_agent_state("shop", "r1", {"closed_until": "2026-01-01T00:00:10Z", "seen": ["a", "b"]})
    first.save_agent_state("shop", "r1", {"closed_until": "2026-01-01T00:00:20Z", "seen": ["c"]})
    first.set_agent("shop", "r1", RUNNING, {"app": "shop", "run": "r1", "windows": [{"size_s": 5}]})
    first.set_agent("shop", "r2", RUNNING, {"app": "shop", "run": "r2"})
    first.set_agent("shop", "r2", STOPPED)  # config is kept when not given
    first.save_windows([window(0)])
    first.close()

    second = ObservationStore(store_url)
    try:
        assert second.load_agent_state("shop", "r1") == {"closed_until": "2026-01-01T00:00:20Z", "seen": ["c"]}
        assert second.load_agent_state("shop", "r2") is None
        assert second.list_agents(RUNNING) == [
            ("shop", "r1", RUNNING, {"app": "shop", "run": "r1", "windows": [{"size_s": 5}]})]
        assert second.list_agents(STOPPED) == [("shop", "r2", STOPPED, {"app": "shop", "run": "r2"})]
        assert second.list_windows("shop") == [window(0)]
    finally:
        second.close()
