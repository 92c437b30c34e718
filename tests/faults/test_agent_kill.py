"""kill -9 of the agent (a real child process) in the middle of a stream, a new agent started at once: nothing
acknowledged by the broker is lost, nothing counted twice. Before the fix the reports in the killed agent's open
windows were gone: the transports acknowledged them on arrival, so the broker did not send them again.

MQTT and JetStream run on private brokers. A private RabbitMQ node takes about 40 s to boot on a loaded machine,
too slow for this suite, so the AMQP case uses the shared RabbitMQ with a throwaway queue (never stopping it)."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from faults.agent_process import AgentProcess, register, write_conf
from faults.brokers import PrivateBroker, mosquitto, nats_jetstream, port_open
from faults.conftest import unique
from faults.history import History, Outcome, publish_with_faults, stored_requests
from rohe.observation.brokers import AmqpTransport, MqttTransport
from rohe.observation.store import ObservationStore
from rohe.observation.transports import make_transport

pytestmark = pytest.mark.slow
COUNT = 2000


@pytest.mark.parametrize("kind", ["mqtt", "amqp", "nats-jetstream"])
def test_agent_kill_loses_nothing(kind: str, tmp_path: Path, obs_store: tuple[ObservationStore, str]) -> None:
    store, database_url = obs_store
    broker: PrivateBroker | None = None
    if kind == "mqtt":
        broker = mosquitto(tmp_path / "broker")
    elif kind == "nats-jetstream":
        broker = nats_jetstream(tmp_path / "broker")
    elif not port_open(5672):
        pytest.fail("the shared RabbitMQ is not running on 5672")
    if broker is not None:
        broker.start()
    url = {"mqtt": "mqtt://127.0.0.1:{port}", "nats-jetstream": "nats://127.0.0.1:{port}",
           "amqp": "amqp://127.0.0.1:5672/"}[kind].format(port=broker.port if broker else 0)
    credentials = "guest:guest" if kind == "amqp" else None
    publisher_url = url if credentials is None else "amqp://guest:guest@127.0.0.1:5672/"
    app, run = unique("ak"), "r1"
    register(store, app, run, kind, url, credentials)
    conf = write_conf(tmp_path, app, run, kind, url)
    history = History()
    agents: list[AgentProcess] = []

    def restart_agent() -> None:
        agents[-1].kill()  # SIGKILL: no flush, no goodbye
        agents.append(AgentProcess(conf, app, database_url, tmp_path, f"agent{len(agents) + 1}", credentials))

    async def prepare() -> None:
        if kind == "mqtt":  # the agent's persistent session exists before anything is published, as in production
            session = MqttTransport(app, run, "127.0.0.1", broker.port if broker else 0, session="rohe-agent")
            await session.subscribe()
            await session.close()

    async def scenario() -> None:
        publisher = make_transport(kind, app, run, url=publisher_url)
        try:
            await publish_with_faults(publisher, app, run, history, count=COUNT, batch=20, duration_s=6.0,
                                      faults=[(3.0, restart_agent)])
        finally:
            await publisher.close()

    try:
        asyncio.run(prepare())
        agents.append(AgentProcess(conf, app, database_url, tmp_path, "agent1", credentials))
        agents[0].wait_running()
        asyncio.run(scenario())
        agents[-1].wait_running()
        # Wait for what is stored, which never counts a report twice; the new agent's idle close (5 s) stores the
        # last windows. Stored plus the checkpoint's open reports did: a checkpoint older than the windows stored
        # after it counts their reports again, and the agent was stopped with 560 reports still queued for it.
        # JetStream redelivers what the killed agent held only after ack_wait (10 s).
        deadline = time.monotonic() + 45
        while stored_requests(store, app, run) < COUNT and time.monotonic() < deadline:
            time.sleep(0.3)
        assert agents[-1].terminate() == 0, agents[-1].log.read_text(errors="replace")[-3000:]
    finally:
        for agent in agents:
            if agent.process.poll() is None:
                agent.kill()
        if kind == "amqp":
            asyncio.run(_delete_queue(app, run, publisher_url))
        if broker is not None:
            broker.stop()
    outcome = Outcome(f"{kind} agent kill -9", len(history.sent), len(history.acked),
                      stored_requests(store, app, run), history.failures)
    print(outcome.line())
    assert len(agents) == 2 and agents[0].process.returncode == -9
    assert (outcome.lost, outcome.duplicated) == (0, 0), outcome.line()
    assert outcome.acked == COUNT


async def _delete_queue(app: str, run: str, url: str) -> None:
    queue = AmqpTransport(app, run, url)
    try:
        await queue.subscribe()
        await queue.delete_queue()
    finally:
        await queue.close()
