"""What every broker transport shares."""

from __future__ import annotations

# A subscriber that lost its broker retries at most this far apart: the broker may come back without the
# subscription (MQTT without persistence), and until the subscriber is back, what probes send goes to nobody.
RECONNECT_MAX_S = 1.0
