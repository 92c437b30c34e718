"""What ROHE's bts contract names, derived from the reports: forecasts and actual readings in kWh.

`energy_forecast_kwh` is the centre of the answered bin (per member on member rows, of the ensemble on
request rows) and `actual_energy_kwh` the centre of the labelled bin, so `forecast_mae` and
`prediction_variance` are exact to one bin (0.25 kWh) - see rohe.observation.evaluation.cdm_expressions.
"""

from __future__ import annotations

from rohe.examples.bts.series import BIN_KWH
from rohe.observation.evaluation.cdm_expressions import ClassValues, RowDerivation

APPLICATION = "bts"


def derivation() -> RowDerivation:
    return ClassValues("energy_forecast_kwh", "actual_energy_kwh", offset=BIN_KWH / 2, step=BIN_KWH)
