"""Where the shared ROHE inputs live, and the ROHE-feature catalog the selection tests use."""

from __future__ import annotations

from pathlib import Path

from rohe.core.profiles import ProfileCatalog, load_rohe_features, ucc2024_quality, ucc2024_throughput

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"
INPUTS = SHARED / "rohe-inputs"
ENSEMBLE_SELECTION = INPUTS / "ensemble_selection"
CONTRACTS = INPUTS / "contracts"
UCC2024 = SHARED / "datasets" / "UCC2024" / "profile"
IOT_JOURNAL = SHARED / "datasets" / "IoT_journal" / "profiling"

# The feature tables carry no quality; the test pairs each ROHE model with one UCC2024 profile (both lists in
# file order) so the published contract has measured values to score. docs/serving-selection.md states it.
UCC_FOR_ROHE_MODEL = {
    "model1": "vgg",
    "model7": "vgg_0",
    "model27": "vgg_2_12",
    "model76": "vgg_2_7",
    "model67": "vgg_3_6",
    "model212": "vgg_6",
    "model6": "vgg_6_7",
    "model36": "vgg_7",
    "model0": "vgg_7_6",
}


def require(path: Path) -> Path:
    """Missing shared data is a broken checkout, not a reason to skip."""
    assert path.exists(), f"shared input missing: {path} (expected ../shared next to the repository)"
    return path


def rohe_catalog() -> ProfileCatalog:
    profile_set = require(UCC2024 / "profiles_011023_0")
    quality = ucc2024_quality(profile_set)
    throughput = ucc2024_throughput(profile_set)
    return load_rohe_features(
        require(ENSEMBLE_SELECTION / "model9_features.yaml"),
        require(ENSEMBLE_SELECTION / "device8_features.yaml"),
        require(ENSEMBLE_SELECTION / "classObject.yaml"),
        quality={m: quality[u][0] for m, u in UCC_FOR_ROHE_MODEL.items()},
        throughput={m: throughput[u] for m, u in UCC_FOR_ROHE_MODEL.items()},
    )
