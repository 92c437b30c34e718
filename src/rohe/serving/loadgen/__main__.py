"""Drive a running gateway with a workload profile and write the report folder:

    python -m rohe.serving.loadgen --url http://127.0.0.1:5020 --profile workload.yaml --out reports/load

Inputs and labels are the object-classification example's held-out split (raw pixels; the gateway
preprocesses). The profile format is in rohe.serving.loadgen.profile.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from rohe.cli.errors import EXIT_USER_ERROR, print_error
from rohe.core.errors import RoheError
from rohe.serving.loadgen.command import loadgen_command


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--url", required=True, help="base URL of the serving gateway")
    parser.add_argument("--profile", required=True, type=Path, help="workload profile (YAML or JSON)")
    parser.add_argument("--out", type=Path, default=Path("reports/load"), help="report folder")
    args = parser.parse_args(argv)
    try:
        loadgen_command(args.url, args.profile, args.out)
    except RoheError as exc:
        print_error(exc)
        return EXIT_USER_ERROR
    return 0


if __name__ == "__main__":
    sys.exit(main())
