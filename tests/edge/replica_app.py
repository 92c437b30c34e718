"""A model replica as its own process for the edge tests: always answers class `--answer` (so a response
tells which replica served it) after `--delay` seconds. `python replica_app.py --host H --port P ...`."""

from __future__ import annotations

import argparse
import time

import numpy as np
import uvicorn
from numpy.typing import NDArray

from rohe.serving.model_service import create_model_app, from_callable

FEATURES = 4


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--answer", type=int, required=True)
    parser.add_argument("--delay", type=float, default=0.0)
    args = parser.parse_args()

    def predict(batch: NDArray[np.float64]) -> NDArray[np.float64]:
        time.sleep(args.delay)
        probabilities = np.full((len(batch), 10), 0.0)
        probabilities[:, args.answer] = 1.0
        return probabilities

    app = create_model_app(from_callable("m", predict, list(range(10)), FEATURES))
    # uvicorn's SIGTERM handling is the replica's own drain: stop accepting, finish what it has, exit.
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
