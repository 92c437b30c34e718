"""The offline-first edge site: what a site keeps on disk to serve while the central services are away, and
how its reports reach the central service once the link is back."""

from rohe.edge.cache import SiteCache
from rohe.edge.uplink import TeeSink, central_registration, uplink_probe

__all__ = ["SiteCache", "TeeSink", "central_registration", "uplink_probe"]
