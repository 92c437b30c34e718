"""rohe: ML inference pipelines on heterogeneous edge clusters, kept inside their contracts."""

__version__ = "0.1.0"
