"""The default benchmark: test images blurred by random Fresnel/Zernike PSFs at four noise levels."""

from __future__ import annotations

from bench.datasets._synthetic import SyntheticDataset


class Dataset(SyntheticDataset):
    """Every test image at 256x256 (``bench/conf/dataset/fresnel-zernike.yaml``); the model is :class:`SyntheticDataset`."""

    name = "fresnel-zernike"
    description = "skimage images + fluorescence phantoms, Fresnel/Zernike PSFs, Poisson-Gaussian noise"
