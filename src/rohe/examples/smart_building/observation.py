"""What ROHE's smart_building contract names, derived from the reports: per-modality answers (`modality`,
`correct`) and whether the modalities agreed (`is_multimodal`, `modalities_agree`)."""

from __future__ import annotations

from rohe.observation.evaluation.cdm_expressions import ModalityRows, RowDerivation

APPLICATION = "smart-building"


def derivation() -> RowDerivation:
    return ModalityRows()
