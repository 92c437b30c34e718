"""Observation reports from probes and the transports that carry them to the observation service."""
