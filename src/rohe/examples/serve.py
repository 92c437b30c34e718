"""Run one model of an example application as an HTTP model service:
`python -m rohe.examples.serve --app bts --model mlp` (the command of the apps' model services).

It serves preprocessed features (the gateway runs the preprocessing stage) with the app's cached models
(trained first when the cache is absent or damaged) and reports the profile from `--profiles` (a rohe
profile CSV) on /profile when one is given.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import uvicorn

from rohe.core.config import Settings
from rohe.core.errors import RoheError
from rohe.core.profiles import load_catalog
from rohe.examples.registry import EXAMPLE_APPS, example_app
from rohe.serving.model_service import create_model_app


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--app", required=True, choices=sorted(EXAMPLE_APPS))
    parser.add_argument("--model", required=True)
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--data-dir", type=Path, default=None, help="where models are cached (default ROHE_DATA_DIR)")
    parser.add_argument("--profiles", type=Path, default=None, help="profile CSV from `rohe profile`")
    parser.add_argument("--node-type", default="local", help="which profile row of --profiles to report")
    args = parser.parse_args(argv)
    try:
        predictor = example_app(args.app).load_model(args.data_dir or Settings().data_dir, args.model)
        profile = load_catalog(args.profiles).profile(args.model, args.node_type) if args.profiles else None
    except RoheError as exc:
        sys.exit(f"rohe: {exc}")
    uvicorn.run(create_model_app(predictor, profile), host=args.host, port=args.port, log_level="warning")


if __name__ == "__main__":
    main()
