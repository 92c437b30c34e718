"""README.md's "A five-minute tour" runs as written, so the README cannot drift from the CLI again.

The tour's bash block is read from README.md; its commands run in order in a temporary folder holding a copy
of `examples/` (nothing from ../shared), with this checkout's `src/` on the path. A command ending in `&` is a
server: it is started, probed until its /health answers, and stopped (SIGTERM) at the end; the foreground
observation agent is started, seen running and stopped with SIGINT. Fixed ports (5010, 5020, 8224) are
swapped for free ones so the test can run beside other servers. `rohe demo --quick` is only checked to
exist here: tests/cli/test_demo.py runs it end to end.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[1]
PORTS = ("5010", "5020", "8224")
COVERED_ELSEWHERE = {("rohe", "demo"): "tests/cli/test_demo.py runs the demo end to end"}
FOREGROUND = "--foreground"


def tour_commands(readme: str) -> list[list[str]]:
    """The tour's bash block as argument lists: continuation lines joined, comments dropped."""
    section = readme.split("## A five-minute tour", 1)[1]
    block = re.search(r"```bash\n(.*?)```", section, re.S)
    assert block is not None, "the tour has no bash block"
    text = block.group(1).replace("\\\n", " ")
    commands = [shlex.split(line, comments=True) for line in text.splitlines()]
    return [c for c in commands if c]


def test_the_tour_is_parsed_as_the_reader_sees_it() -> None:
    commands = tour_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    assert commands[0][0] == "source"
    assert any(c[:3] == ["rohe", "start", "serving-service"] and c[-1] == "&" for c in commands)
    assert not any("../shared" in " ".join(c) for c in commands)  # a user of the tour does not have it
    for command in commands:
        for argument in command:
            if argument.startswith("examples/"):
                assert (ROOT / argument).exists(), argument


def _free_port() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return str(probe.getsockname()[1])


class Tour:
    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.ports = {port: _free_port() for port in PORTS}
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT / "src"),
            "COLUMNS": "120",
            "ROHE_API__PORT": self.ports["5010"],
        }
        for name in ("ROHE_DATA_DIR", "ROHE_CONFIG", "ROHE_DATABASE_URL"):
            self.env.pop(name, None)
        self.servers: list[subprocess.Popen[bytes]] = []

    def argv(self, command: list[str]) -> list[str]:
        swapped = [self._ports(a) for a in command if a != "&"]
        if swapped[0] == "rohe":
            return [sys.executable, "-m", "rohe.cli.main", *swapped[1:]]
        if swapped[0] == "python":
            return [sys.executable, *swapped[1:]]
        return swapped

    def _ports(self, argument: str) -> str:
        for fixed, free in self.ports.items():
            argument = re.sub(rf"(?<![0-9]){fixed}(?![0-9])", free, argument)
        return argument

    def run(self, command: list[str]) -> None:
        done = subprocess.run(self.argv(command), cwd=self.folder, env=self.env, capture_output=True, timeout=600)
        output = (done.stdout + done.stderr).decode(errors="replace")
        assert done.returncode == 0, f"{shlex.join(command)} exited {done.returncode}:\n{output[-3000:]}"
        assert "Traceback" not in output, output[-3000:]

    def serve(self, command: list[str]) -> None:
        server = subprocess.Popen(
            self.argv(command), cwd=self.folder, env=self.env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
            start_new_session=True,
        )
        self.servers.append(server)
        port = self._server_port(command)
        give_up = time.monotonic() + 180
        while time.monotonic() < give_up:
            if server.poll() is not None:
                pytest.fail(f"{shlex.join(command)} ended: {server.stderr.read().decode()[-3000:]}")  # type: ignore[union-attr]
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        pytest.fail(f"{shlex.join(command)}: no /health on port {port} within 180 s")

    def _server_port(self, command: list[str]) -> str:
        if "--port" in command:
            return self._ports(command[command.index("--port") + 1])
        return self.ports["5010"]  # rohe start orchestration-service: api.port, set through ROHE_API__PORT

    def foreground(self, command: list[str]) -> None:
        agent = subprocess.Popen(
            self.argv(command), cwd=self.folder, env=self.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        time.sleep(3)
        assert agent.poll() is None, agent.communicate()[0].decode()[-3000:]
        agent.send_signal(signal.SIGINT)
        output = agent.communicate(timeout=60)[0].decode(errors="replace")
        assert agent.returncode in (0, 130), output[-3000:]
        assert "Traceback" not in output, output[-3000:]

    def stop(self) -> None:
        for server in reversed(self.servers):
            if server.poll() is None:
                os.killpg(server.pid, signal.SIGTERM)
        for server in self.servers:
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait()


@pytest.fixture
def tour(tmp_path: Path) -> Iterator[Tour]:
    # What a fresh clone has next to README.md: the example files (links resolved, as an archive would).
    shutil.copytree(ROOT / "examples", tmp_path / "examples", symlinks=False)
    running = Tour(tmp_path)
    try:
        yield running
    finally:
        running.stop()
        # `deploy` starts local processes: make sure none outlives the test even when a step failed.
        subprocess.run(
            [sys.executable, "-m", "rohe.cli.main", "orchestration", "deploy", "--stop"],
            cwd=tmp_path, env=running.env, capture_output=True, timeout=120,
        )


@pytest.mark.timeout(1800)  # some twenty commands, model training and two servers included, on two shared cores
def test_every_tour_command_runs_in_a_fresh_folder(tour: Tour) -> None:
    commands = tour_commands((ROOT / "README.md").read_text(encoding="utf-8"))
    for command in commands:
        if command[0] == "source":
            continue
        print(f"$ {shlex.join(command)}", flush=True)  # shown with the failure: which step broke
        if tuple(command[:2]) in COVERED_ELSEWHERE:
            tour.run([*command[:2], "--help"])
        elif command[-1] == "&":
            tour.serve(command)
        elif FOREGROUND in command:
            tour.foreground(command)
        else:
            tour.run(command)
    assert (tour.folder / "reports" / "load" / "summary.csv").is_file()
    assert (tour.folder / "reports" / "object-classification-report.html").is_file()
    assert any((tour.folder / "manifests").glob("*.yaml"))
