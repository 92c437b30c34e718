"""Histograms of oriented gradients in NumPy (scikit-image is not a dependency).

Unsigned gradient orientations (0-180 degrees) in `bins` bins, magnitude-weighted, summed over square
cells of `cell` pixels; the whole descriptor is L2-normalised, clipped at 0.2 and renormalised (L2-Hys) -
one block over the patch, which is all a 16 x 16 window needs.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray


def hog(patches: NDArray[np.float64], side: int, cell: int, bins: int = 9) -> NDArray[np.float64]:
    """(n, side * side) patches -> (n, (side // cell)^2 * bins) descriptors."""
    images = np.asarray(patches, dtype=np.float64).reshape(-1, side, side)
    gradients = np.gradient(images, axis=(1, 2))
    gy, gx = gradients[0], gradients[1]
    magnitude = np.hypot(gx, gy)
    orientation = np.rad2deg(np.arctan2(gy, gx)) % 180.0
    index = np.minimum((orientation / (180.0 / bins)).astype(np.int64), bins - 1)
    cells = side // cell
    n = len(images)
    histogram = np.zeros((n, cells, cells, bins))
    for b in range(bins):
        weighted = np.where(index == b, magnitude, 0.0)[:, : cells * cell, : cells * cell]
        histogram[..., b] = weighted.reshape(n, cells, cell, cells, cell).sum(axis=(2, 4))
    flat = histogram.reshape(n, -1)
    flat /= np.linalg.norm(flat, axis=1, keepdims=True) + 1e-9
    flat = np.minimum(flat, 0.2)
    return np.asarray(flat / (np.linalg.norm(flat, axis=1, keepdims=True) + 1e-9))
