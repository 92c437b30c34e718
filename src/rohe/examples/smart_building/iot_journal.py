"""Measured smart-building profiles side by side with the published IoT-journal profiles.

The time-series members carry the published model's name (`MINI_ROCKET`; the cheaper `MINI_ROCKET_S` and
aeon's `MINI_ROCKET_AEON` are variants of the same family), so a catalog with this machine's `local`
profiles and the published Jetson profiles holds one MINI_ROCKET across node types. The video members are
stand-ins for the published X3D family (3D CNNs on real video, which this example does not ship):
`COUNTERPARTS` says which published model each one plays; `published_names` renames measured profiles to
them when an experiment wants one model per slot. Class ids do not line up (the published profiles score
35 activity labels 1..35, this example 4 activities 0..3), so only overall accuracy and latency mix;
per-class numbers stay with their own catalog.
"""

from __future__ import annotations

from pathlib import Path

from rohe.core.profiles import ProfileCatalog
from rohe.core.profiles.iot_journal import load_iot_journal

COUNTERPARTS: dict[str, str] = {
    "MINI_ROCKET": "MINI_ROCKET",
    "MINI_ROCKET_S": "MINI_ROCKET",
    "MINI_ROCKET_AEON": "MINI_ROCKET",
    "FRAME_LINEAR": "X3D_XS",
    "FRAME_MLP": "X3D_L",
}


def published_catalog(profiling_dir: Path) -> ProfileCatalog:
    """The IoT-journal profiles in `profiling_dir` (quality YAMLs + performance_data_sample.yaml)."""
    quality = sorted(p for p in profiling_dir.glob("*_v*.yaml"))
    performance = profiling_dir / "performance_data_sample.yaml"
    return load_iot_journal(quality, performance if performance.is_file() else None)


def side_by_side(measured: ProfileCatalog, profiling_dir: Path) -> ProfileCatalog:
    """Measured profiles and the published ones in one catalog (a (model, node type) in both is a Conflict)."""
    return measured.merged(published_catalog(profiling_dir))


def published_names(measured: ProfileCatalog) -> ProfileCatalog:
    """Measured profiles renamed to their published counterparts (the first member per counterpart wins)."""
    seen: set[tuple[str, str]] = set()
    renamed = []
    for profile in measured.profiles:
        name = COUNTERPARTS.get(profile.model, profile.model)
        if (name, profile.node_type) in seen:
            continue
        seen.add((name, profile.node_type))
        renamed.append(profile.model_copy(update={"model": name}))
    return ProfileCatalog.of(renamed, measured.classes)
