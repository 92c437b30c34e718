"""Inference serving: consumer contracts, model profiles and ensemble selection.

The data plane and per-request schedulers build on the three subpackages here; nothing in them talks to
the network or to storage, so they can be used from the CLI, the API and offline tools alike.
"""
