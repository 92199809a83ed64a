"""A handful of tiny cases of the synthetic model, for tests and quick checks."""

from __future__ import annotations

from bench.datasets._synthetic import SyntheticDataset


class Dataset(SyntheticDataset):
    """``fresnel-zernike`` at 64x64 with two images and two noise levels (seconds to run).

    Same physics and parameters as ``fresnel-zernike`` (:mod:`bench.datasets._synthetic`); only
    the defaults in ``bench/conf/dataset/smoke.yaml`` differ.
    """

    name = "smoke"
    description = "fresnel-zernike in miniature (64x64) for tests"
