"""`rohe demo --keep-ui`: after the demo, the operator console serves the demo's store until Ctrl-C.

The demo itself is covered by test_demo.py; here the console step runs on a store and report folder of its own,
and a real SIGINT (sent to this process, as Ctrl-C would) ends it cleanly with the server stopped.
"""

from __future__ import annotations

import io
import os
import re
import signal
import threading
import time
from pathlib import Path

import httpx
from rich.console import Console

from rohe.cli.demo import _keep_console


def test_the_console_serves_the_demo_store_until_ctrl_c(tmp_path: Path) -> None:
    out = tmp_path / "report"
    out.mkdir()
    (out / "summary.csv").write_text("consumer,algorithm\ncam,adaptive\n")
    buffer = io.StringIO()
    seen: dict[str, int] = {}

    def operator() -> None:
        give_up = time.monotonic() + 60
        while (found := re.search(r"operator console: (\S+)", buffer.getvalue())) is None:
            assert time.monotonic() < give_up, "the console never printed its URL"
            time.sleep(0.1)
        seen["status"] = httpx.get(found.group(1), follow_redirects=True, timeout=30).status_code
        os.kill(os.getpid(), signal.SIGINT)

    thread = threading.Thread(target=operator, daemon=True)
    thread.start()
    _keep_console(tmp_path / "store", out, Console(file=buffer, width=200))
    thread.join(timeout=10)
    assert seen.get("status") == 200, buffer.getvalue()
    assert "console stopped" in buffer.getvalue()
    url = re.search(r"operator console: (\S+)", buffer.getvalue())
    assert url is not None
    try:
        httpx.get(url.group(1), timeout=2)
        still_up = True
    except httpx.TransportError:
        still_up = False
    assert not still_up
