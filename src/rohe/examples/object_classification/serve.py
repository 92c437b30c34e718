"""Run one example model as an HTTP model service: `python -m rohe.examples.object_classification.serve`.

It serves preprocessed features (the preprocessing stage runs before it) and reports the profile from
`--profiles` (a rohe profile CSV) on /profile when one is given.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import uvicorn

from rohe.core.config import Settings
from rohe.core.profiles import load_catalog
from rohe.examples.object_classification.models import MODEL_NAMES, load_model
from rohe.serving.model_service import ReplicaCapacity, create_model_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--model", required=True, choices=MODEL_NAMES)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--data-dir", type=Path, default=None, help="where models are cached (default ROHE_DATA_DIR)")
    parser.add_argument("--profiles", type=Path, default=None, help="profile CSV from `rohe profile`")
    parser.add_argument("--node-type", default="local", help="which profile row of --profiles to report")
    parser.add_argument("--concurrency", type=int, default=None, help="predictions at once (default: no limit)")
    parser.add_argument("--service-ms", type=float, default=0.0,
                        help="hold each prediction's slot at least this long: a replica of a slower device")
    parser.add_argument("--max-wait-ms", type=float, default=None,
                        help="refuse (503) a request that waited longer than this for a slot")
    args = parser.parse_args(argv)
    try:
        capacity = ReplicaCapacity(args.concurrency, args.service_ms, args.max_wait_ms)
    except ValueError as exc:
        parser.error(f"--concurrency/--service-ms/--max-wait-ms: {exc}")
    predictor = load_model(args.data_dir or Settings().data_dir, args.model)
    profile = load_catalog(args.profiles).profile(args.model, args.node_type) if args.profiles else None
    app = create_model_app(predictor, profile, capacity=capacity)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
