"""Training data over the same ops, seeds and records as ``generate`` (issue 15).

- :class:`ManifestDataset` (``ManifestDataset(OUT, folds=[1, 2, 3, 4])``): a torch Dataset over
  the variants of a generated OUT folder, items ``(image, target, provenance[, mask])``; K-fold
  cross-validation by fold number, no file moved.
- :class:`Degrade` (``Degrade("jpeg+grid", seed=0)``): on-the-fly degradation drawn from a
  policy of the config's ``policies:`` map for each (seed, epoch, index); returns the degraded
  image and the concrete chain it applied, pixels equal to what ``generate`` writes.
- :func:`collate`: a DataLoader ``collate_fn`` that keeps provenance dicts as a list.

Imports torch (the Dataset base class): ``import degradebench`` alone does not import this.
"""

from __future__ import annotations

from ._dataset import ManifestDataset, collate
from ._degrade import Degrade, policy_rng

__all__ = ["ManifestDataset", "Degrade", "collate", "policy_rng"]
