"""The offline-first edge site: what a site keeps on disk to serve while the central services are away."""

from rohe.edge.cache import SiteCache

__all__ = ["SiteCache"]
