"""Private broker processes for fault tests: each on a free port with its own data directory, started and killed
by the test alone. The machine's shared brokers are never touched.

Mosquitto runs with the settings of examples/brokers/mosquitto.conf (the ones docs/faults.md documents), NATS with
JetStream on a file store in the data directory.
"""

from __future__ import annotations

import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

SAMPLE_MOSQUITTO_CONF = Path(__file__).resolve().parents[2] / "examples" / "brokers" / "mosquitto.conf"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket() as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def wait_port(port: int, is_open: bool, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while port_open(port) != is_open:
        if time.monotonic() > deadline:
            raise TimeoutError(f"port {port} still {'closed' if is_open else 'open'} after {timeout} s")
        time.sleep(0.02)


@dataclass
class PrivateBroker:
    """One broker process of our own; `kill` is a real SIGKILL, `stop` a SIGTERM (clean shutdown)."""

    command: list[str]
    port: int
    data_dir: Path
    process: subprocess.Popen[bytes] | None = None
    log: Path = field(init=False)

    def __post_init__(self) -> None:
        self.log = self.data_dir / "broker.log"

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT, cwd=self.data_dir)
        try:
            wait_port(self.port, True)
        except TimeoutError:
            raise AssertionError(f"broker did not start: {self.log.read_text(errors='replace')[-2000:]}") from None

    def _signal(self, sig: signal.Signals) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.kill(self.process.pid, sig)
        self.process.wait(timeout=20)
        wait_port(self.port, False)

    def kill(self) -> None:
        self._signal(signal.SIGKILL)

    def stop(self) -> None:
        self._signal(signal.SIGTERM)


def mosquitto(data_dir: Path, conf: Path = SAMPLE_MOSQUITTO_CONF) -> PrivateBroker:
    """A mosquitto with the sample configuration, its listener and persistence moved to our port and folder.

    It runs as the user running the tests, who owns the folder. Started as root without a `user` line, mosquitto
    switches to the `mosquitto` user, cannot write its database into a root-owned folder and only logs "Error
    saving in-memory database": every restart then came back without the agent's session, and what was published
    before the subscriber re-subscribed went to nobody (the stall of issue 8).
    """
    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    if not Path(binary).exists():
        pytest.skip("mosquitto is not installed")
    port = free_port()
    kept = [line for line in conf.read_text().splitlines()
            if not line.startswith(("listener", "persistence_location", "pid_file", "log_dest", "user"))]
    data_dir.mkdir(parents=True, exist_ok=True)
    private = data_dir / "mosquitto.conf"
    private.write_text("\n".join([*kept, f"listener {port} 127.0.0.1", f"persistence_location {data_dir}/",
                                  "log_dest stderr", f"user {pwd.getpwuid(os.geteuid()).pw_name}"]) + "\n")
    return PrivateBroker([binary, "-c", str(private)], port, data_dir)


def nats_jetstream(data_dir: Path) -> PrivateBroker:
    binary = shutil.which("nats-server") or "/usr/sbin/nats-server"
    if not Path(binary).exists():
        pytest.skip("nats-server is not installed")
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    return PrivateBroker([binary, "-a", "127.0.0.1", "-p", str(port), "-js", "-sd", str(data_dir / "js")],
                         port, data_dir)


@dataclass
class PrivateRabbit(PrivateBroker):
    """rabbitmq-server drops to the rabbitmq user and forks the Erlang VM; signals go to the VM (its pid file)."""

    env: dict[str, str] = field(default_factory=dict)

    def _signal(self, sig: signal.Signals) -> None:
        pid_file = self.data_dir / "rabbit.pid"
        if self.process is None or self.process.poll() is not None or not pid_file.exists():
            return
        os.kill(int(pid_file.read_text().split()[0]), sig)
        self.process.wait(timeout=60)
        pid_file.unlink(missing_ok=True)
        wait_port(self.port, False)

    def start(self) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(self.command, stdout=out, stderr=subprocess.STDOUT, cwd=self.data_dir,
                                            env=self.env)
        wait_port(self.port, True, timeout=120)


def rabbitmq(data_dir: Path) -> PrivateRabbit:
    """A private RabbitMQ node (its own node name, ports, database and logs). Slow to boot: ~10-40 s."""
    binary = shutil.which("rabbitmq-server") or "/usr/sbin/rabbitmq-server"
    if not Path(binary).exists():
        pytest.skip("rabbitmq-server is not installed")
    port, dist = free_port(), free_port()
    for sub in ("mnesia", "log"):
        (data_dir / sub).mkdir(parents=True, exist_ok=True)
    (data_dir / "rabbit.conf").write_text(f"listeners.tcp.default = 127.0.0.1:{port}\n")
    # The server runs as the rabbitmq user: it must reach and own its folder.
    for folder in (data_dir, *data_dir.parents):
        if folder == Path("/"):
            break
        folder.chmod(folder.stat().st_mode | 0o711)
    subprocess.run(["chown", "-R", "rabbitmq:rabbitmq", str(data_dir)], check=False)
    env = {**os.environ, "HOME": str(data_dir), "RABBITMQ_NODENAME": f"rohe{port}@localhost",
           "RABBITMQ_NODE_PORT": str(port), "RABBITMQ_DIST_PORT": str(dist),
           "RABBITMQ_MNESIA_BASE": str(data_dir / "mnesia"), "RABBITMQ_LOG_BASE": str(data_dir / "log"),
           "RABBITMQ_CONFIG_FILE": str(data_dir / "rabbit"),
           "RABBITMQ_ENABLED_PLUGINS_FILE": str(data_dir / "plugins"),
           "RABBITMQ_PID_FILE": str(data_dir / "rabbit.pid")}
    broker = PrivateRabbit([binary], port, data_dir)
    broker.env = env
    return broker
