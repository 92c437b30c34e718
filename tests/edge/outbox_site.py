"""A site process for the outbox tests: records `--events` policy events (a few at a time, while its forwarder
sends to `--central`), exits 0 printing the forwarder's status once all are acknowledged. `--crash-on-ack K`
kills the process with SIGKILL at its K-th acknowledgement: after the centre stored the batch and answered,
before the site wrote its cursor, the one place where a crash makes a resend."""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
from pathlib import Path

from rohe.edge.outbox import OutboxForwarder, SiteOutbox, policy_event


class CrashingOutbox(SiteOutbox):
    def __init__(self, directory: Path, crash_on_ack: int) -> None:
        super().__init__(directory)
        self.crash_on_ack, self.acks = crash_on_ack, 0

    def ack(self, offset: int) -> None:
        self.acks += 1
        if self.acks == self.crash_on_ack:
            os.kill(os.getpid(), signal.SIGKILL)
        super().ack(offset)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dir", type=Path, required=True)
    parser.add_argument("--central", required=True)
    parser.add_argument("--site", default="edge-a")
    parser.add_argument("--events", type=int, default=0)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--crash-on-ack", type=int, default=0)
    parser.add_argument("--token", default=None)
    args = parser.parse_args()
    outbox = CrashingOutbox(args.dir, args.crash_on_ack)
    forwarder = OutboxForwarder(outbox, args.central, args.site, token=args.token, batch=args.batch, poll_s=0.05)
    forwarder.start()
    for i in range(0, args.events, 5):
        forwarder.record([policy_event("edge-test", "r1", "cam", {"degrade": n % 2 == 0, "n": n})
                          for n in range(i, min(i + 5, args.events))])
        time.sleep(0.01)
    print("recorded", flush=True)
    while (counts := outbox.counts())[1] < counts[0]:
        time.sleep(0.05)
    forwarder.close()
    print(json.dumps(forwarder.status.as_dict()), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
