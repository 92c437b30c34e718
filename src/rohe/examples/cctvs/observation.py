"""What ROHE's cctvs contract names, derived from the reports: a window answered as a person or vehicle is
a detection, judged against the labelled class (`detection_correct`, `is_false_positive`)."""

from __future__ import annotations

from rohe.examples.cctvs.scenes import BACKGROUND
from rohe.observation.evaluation.cdm_expressions import Detections, RowDerivation

APPLICATION = "cctvs"


def derivation() -> RowDerivation:
    return Detections(background=BACKGROUND)
