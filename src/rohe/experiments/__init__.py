"""Experiments: recorded traces read and replayed, experiment specs run arm by arm, results compared.

- traces/: the IoT-journal request-level traces and rohe's own requests.csv, read into one shape; malformed
  rows counted, never dropped in silence. figures.py recomputes a recorded run's own figures.
- calibration.py + replay.py: trace-calibrated service times and predictions, and the same query sequence
  replayed under every registered scheduler through rohe.simulation.
- spec.py, backends.py, runner.py: `rohe experiment run` (parallel, resumable arms); report.py, summary.py,
  stats.py, plots.py: rows, CIs, paired tests with Holm, plots and the Markdown table; compare.py; whatif.py.
This package sits above the services (it drives serving's schedulers and the simulator and reads the
observation store); nothing below imports it.
"""
