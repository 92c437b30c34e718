"""Reports sent through a probe survive a broker restart (and a subscriber outage) with nothing lost.

These restart the real local brokers, so other tests talking to them may see a short outage; each test restores
its broker in a `finally` block whatever happens. Deselect with `-m "not broker_restart"`.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from observation.helpers import make_reports, unique
from rohe.observation.brokers import AmqpTransport, JetStreamTransport, MqttTransport
from rohe.observation.buffer import Deduplicator
from rohe.observation.probes import Probe
from rohe.observation.reports import Report
from rohe.observation.transports import Transport

pytestmark = pytest.mark.broker_restart
N = 600
MOSQUITTO_CONF = Path("/etc/mosquitto/mosquitto.conf")


def port_open(port: int) -> bool:
    with socket.socket() as probe_socket:
        probe_socket.settimeout(0.2)
        return probe_socket.connect_ex(("127.0.0.1", port)) == 0


def wait_port(port: int, is_open: bool, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while port_open(port) != is_open:
        if time.monotonic() > deadline:
            raise TimeoutError(f"port {port} still {'closed' if is_open else 'open'} after {timeout} s")
        time.sleep(0.05)


@dataclass
class Broker:
    """How to take one local broker down and bring it back; `start` is idempotent so `finally` can always call it."""

    port: int
    stop: Callable[[], None]
    start_command: list[str]

    def start(self) -> None:
        if not port_open(self.port):
            subprocess.run(self.start_command, check=True, capture_output=True, timeout=60)
            wait_port(self.port, True)


def _mosquitto_pid() -> int:
    pid_file = Path("/run/mosquitto/mosquitto.pid")
    if pid_file.exists():
        return int(pid_file.read_text().split()[0])
    found = subprocess.run(["pgrep", "-x", "mosquitto"], capture_output=True, text=True, check=True)
    return int(found.stdout.split()[0])


def _stop_mosquitto() -> None:
    pid = _mosquitto_pid()
    os.kill(pid, signal.SIGTERM)  # SIGTERM, not KILL: mosquitto saves persistent sessions on the way out
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.05)
    wait_port(1883, False)


def _stop_rabbitmq() -> None:
    subprocess.run(["rabbitmqctl", "stop_app"], check=True, capture_output=True, timeout=60)
    wait_port(5672, False)


def _nats_command() -> list[str]:
    """The running server's own command line, so it comes back exactly as CI started it (JetStream on)."""
    found = subprocess.run(["pgrep", "-x", "nats-server"], capture_output=True, text=True, check=True)
    return Path(f"/proc/{found.stdout.split()[0]}/cmdline").read_bytes().decode().split("\0")[:-1]


def _stop_nats() -> None:
    found = subprocess.run(["pgrep", "-x", "nats-server"], capture_output=True, text=True, check=True)
    os.kill(int(found.stdout.split()[0]), signal.SIGTERM)
    wait_port(4222, False)


MOSQUITTO = Broker(1883, _stop_mosquitto, ["mosquitto", "-d", "-c", str(MOSQUITTO_CONF)])
RABBITMQ = Broker(5672, _stop_rabbitmq, ["rabbitmqctl", "start_app"])


def _require(broker: Broker, binary: str) -> None:
    if shutil.which(binary) is None or os.geteuid() != 0:
        pytest.skip(f"restarting the broker needs {binary} and root")
    if not port_open(broker.port):
        pytest.fail(f"broker on port {broker.port} is not running; start it first (see .ci/run)")


@dataclass
class Outcome:
    unique: int
    duplicates: int
    submit_while_down_s: float
    failures: int


async def _collect(stream: object, dedup: Deduplicator, seen: set[uuid.UUID], want: int) -> None:
    async for batch in stream:  # type: ignore[attr-defined]
        seen.update(r.report_id for r in dedup.fresh(batch))
        if len(seen) >= want:
            return


def _through_restart(publisher: Transport, subscriber: Transport, broker: Broker, tmp_path: Path,
                     app: str, run: str, outage_s: float = 0.3) -> Outcome:
    reports: list[Report] = make_reports(N, app, run)
    dedup, seen = Deduplicator(), set[uuid.UUID]()
    timings: list[float] = []
    probe_failures: list[int] = []

    async def scenario() -> None:
        stream = await subscriber.subscribe()
        consumer = asyncio.create_task(_collect(stream, dedup, seen, N))
        probe = Probe(app, run, transport=publisher, batch_size=25, flush_interval_s=0.01, retry_delay_s=0.05,
                      max_retry_delay_s=0.5, max_in_memory=150, spill_dir=tmp_path)
        try:
            for report in reports[: N // 2]:
                probe.submit(report)
            async with asyncio.timeout(10):
                while probe.stats.sent < N // 4:
                    await asyncio.sleep(0.01)
            await asyncio.to_thread(broker.stop)
            started = time.perf_counter()
            for report in reports[N // 2 :]:
                probe.submit(report)
            timings.append(time.perf_counter() - started)
            await asyncio.sleep(outage_s)  # let the probe run into the outage
            await asyncio.to_thread(broker.start)
            await asyncio.wait_for(asyncio.shield(consumer), 25)
        finally:
            await asyncio.to_thread(broker.start)
            await asyncio.to_thread(probe.close, 5.0)
            probe_failures.append(probe.stats.failures)
            consumer.cancel()
            with_errors = await asyncio.gather(consumer, return_exceptions=True)
            del with_errors
            await _cleanup(subscriber)

    asyncio.run(scenario())
    return Outcome(len(seen), dedup.duplicates, timings[0], probe_failures[0])


async def _cleanup(subscriber: Transport) -> None:
    try:
        async with asyncio.timeout(10):
            if isinstance(subscriber, MqttTransport):
                await subscriber.close()
                await subscriber.forget_session()
            elif isinstance(subscriber, AmqpTransport):
                await subscriber.delete_queue()
                await subscriber.close()
            else:
                await subscriber.close()
    except Exception as exc:  # cleanup trouble must not hide the test's own result
        print(f"cleanup: {exc!r}")


def test_mqtt_broker_restart_loses_nothing(tmp_path: Path) -> None:
    _require(MOSQUITTO, "mosquitto")
    app, run = unique("restart"), unique("run")
    publisher = MqttTransport(app, run, publish_timeout=2.0)
    subscriber = MqttTransport(app, run, session="rohe-test")  # persistent session: the broker queues for it
    outcome = _through_restart(publisher, subscriber, MOSQUITTO, tmp_path, app, run)
    print(outcome)
    assert outcome.unique == N
    assert outcome.failures >= 1  # the outage really hit the probe
    assert outcome.submit_while_down_s < 0.5
    assert subscriber.reconnects >= 1


def test_amqp_broker_restart_loses_nothing(tmp_path: Path) -> None:
    _require(RABBITMQ, "rabbitmqctl")
    app, run = unique("restart"), unique("run")
    publisher = AmqpTransport(app, run, publish_timeout=2.0)
    subscriber = AmqpTransport(app, run)
    outcome = _through_restart(publisher, subscriber, RABBITMQ, tmp_path, app, run)
    print(outcome)
    assert outcome.unique == N
    assert outcome.failures >= 1
    assert outcome.submit_while_down_s < 0.5


def test_jetstream_server_restart_loses_nothing(tmp_path: Path) -> None:
    _require(Broker(4222, _stop_nats, []), "nats-server")
    command = _nats_command()
    if "-js" not in command and "--jetstream" not in command:
        pytest.skip("the running nats-server has JetStream off")
    # start-stop-daemon detaches the server from this test process, as CI starts it.
    nats_broker = Broker(4222, _stop_nats, ["start-stop-daemon", "--start", "--oknodo", "--background",
                                             "--exec", command[0], "--", *command[1:]])
    app, run = unique("restart"), unique("run")
    subscriber = JetStreamTransport(app, run, durable="test-agent")
    try:
        # The outage outlasts the publish timeout, so the probe sees failures and must resend.
        outcome = _through_restart(JetStreamTransport(app, run, publish_timeout=0.5), subscriber, nats_broker,
                                   tmp_path, app, run, outage_s=1.5)
    finally:
        nats_broker.start()

        async def drop_stream() -> None:
            cleanup = JetStreamTransport(app, run)
            await cleanup.delete_stream()
            await cleanup.close()

        asyncio.run(drop_stream())
    print(outcome)
    assert outcome.unique == N
    assert outcome.failures >= 1


def test_jetstream_subscriber_down_gets_what_it_missed(tmp_path: Path) -> None:
    if not port_open(4222):
        pytest.fail("NATS is not running on 4222; start it with JetStream (-js), see .ci/run")
    app, run = unique("js"), unique("run")
    reports = make_reports(N, app, run)
    dedup, seen = Deduplicator(), set[uuid.UUID]()

    async def scenario() -> int:
        first = JetStreamTransport(app, run, durable="test-agent")
        stream = await first.subscribe()  # creates the durable consumer: from now on the stream keeps our place
        probe = Probe(app, run, transport=JetStreamTransport(app, run), batch_size=25, flush_interval_s=0.01,
                      spill_dir=tmp_path)
        try:
            for report in reports[: N // 3]:
                probe.submit(report)
            await asyncio.wait_for(_collect(stream, dedup, seen, N // 3), 15)
            await stream.aclose()
            await first.close()  # the subscriber goes down ...
            for report in reports[N // 3 :]:
                probe.submit(report)  # ... while the rest is published
            await asyncio.to_thread(probe.close, 10.0)
            assert probe.stats.backlog == 0
            second = JetStreamTransport(app, run, durable="test-agent")
            stream = await second.subscribe()
            try:
                await asyncio.wait_for(_collect(stream, dedup, seen, N), 15)
            finally:
                await stream.aclose()
                await second.delete_stream()
                await second.close()
            return len(seen)
        finally:
            await asyncio.to_thread(probe.close, 1.0)

    assert asyncio.run(scenario()) == N
