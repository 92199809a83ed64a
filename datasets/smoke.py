"""A handful of tiny cases of the synthetic model, for tests and quick checks."""

from __future__ import annotations

from bench.datasets.fresnel_zernike import Dataset as FresnelZernike


class Dataset(FresnelZernike):
    """``fresnel-zernike`` at 64x64 with two images and two noise levels (seconds to run).

    Same physics and parameters as :mod:`bench.datasets.fresnel_zernike`; only
    the defaults in ``bench/conf/dataset/smoke.yaml`` differ.
    """

    name = "smoke"
    description = "fresnel-zernike in miniature (64x64) for tests"
