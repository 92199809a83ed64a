"""What every wrapper of a third-party package shares: its version in the label, import checks, batching."""

from __future__ import annotations

import importlib
from importlib import metadata
from typing import ClassVar

import torch

from bench.api import BaseMethod, Optics, Result

__all__ = ["INSTALL", "SdeconvMethod", "ThirdPartyMethod", "installed_version"]

#: How to install the wrapped packages, quoted in every "unavailable" reason.
INSTALL = 'pip install -c constraints.txt -e "plugins/deconv-bench-thirdparty[all]"'


def installed_version(distribution: str) -> str:
    """The installed version of a PyPI distribution, or ``"none"``."""
    try:
        return metadata.version(distribution)
    except metadata.PackageNotFoundError:
        return "none"


class ThirdPartyMethod(BaseMethod):
    """A non-blind method of an installed package, run image by image on 2D tensors.

    Subclasses name the package (``distribution`` on PyPI, ``module`` to
    import), take ``version`` as a keyword defaulting to
    ``installed_version(distribution)`` and implement :meth:`restore`. The
    version is a label parameter: every row says which release made it, and a
    row of another release is recomputed, not reused.
    """

    blind = False
    distribution: ClassVar[str]
    module: ClassVar[str]
    label_parameters = ("version",)

    def __init__(self, *, version: str) -> None:
        installed = installed_version(self.distribution)
        if version != installed:
            raise ValueError(
                f"{self.name}: {self.distribution} {installed} is installed, not {version}; "
                f"pip install -c constraints.txt {self.distribution}=={version}, or drop {self.name}.version"
            )
        self.version = version

    def unavailable(self, device: torch.device) -> str | None:
        try:
            importlib.import_module(self.module)
        except Exception as error:  # noqa: BLE001  any failure of a foreign package makes only this method unavailable
            return f"{self.distribution} cannot be imported ({type(error).__name__}: {error}); {INSTALL}"
        return None

    def run(self, y: torch.Tensor, psf: torch.Tensor | None, optics: Optics | None) -> Result:
        if psf is None:
            raise ValueError(f"{self.name} is non-blind: it needs the PSF, got None")
        images = [self.restore(y[b, 0], psf[b if psf.shape[0] > 1 else 0, 0]) for b in range(y.shape[0])]
        x_hat = torch.stack([torch.as_tensor(image) for image in images])[:, None]
        return Result(x_hat=x_hat.to(y.device, y.dtype), info={"package": f"{self.distribution} {self.version}"})

    def restore(self, y: torch.Tensor, psf: torch.Tensor) -> torch.Tensor:
        """Restore one (H, W) image with its (k, k) unit-sum PSF; returns an (H, W) array or tensor."""
        raise NotImplementedError

    @staticmethod
    def padding(pad: int | None, psf: torch.Tensor) -> int:
        """``pad``, or the PSF radius when it is None."""
        return psf.shape[-1] // 2 if pad is None else pad

    @staticmethod
    def check_padding(pad: int | None) -> int | None:
        """``pad`` if it is None or >= 1 (sdeconv 1.0.4 does not resize the PSF when pad is 0, and fails)."""
        if pad is not None and pad < 1:
            raise ValueError(f"pad must be >= 1 or None (the PSF radius), got {pad}")
        return pad


class SdeconvMethod(ThirdPartyMethod):
    """A filter of sdeconv (Prigent et al.), run on the runner's device.

    sdeconv puts its tensors on the device of its settings singleton (CUDA
    when present); it is set to the device of each batch, so the runner, not
    the package, chooses.
    """

    distribution = "sdeconv"
    module = "sdeconv.deconv"
    references = (
        (
            "S. Prigent, H.-N. Nguyen, L. Leconte, C. A. Valades-Cruz, B. Hajj, J. Salamero and C. Kervrann, "
            "SPITFIR(e): a supermaneuverable algorithm for fast denoising and deconvolution of 3D fluorescence "
            "microscopy images and videos, Scientific Reports 13:1489, 2023."
        ),
    )

    def run(self, y: torch.Tensor, psf: torch.Tensor | None, optics: Optics | None) -> Result:
        from sdeconv.core import SSettings

        SSettings.instance().device = y.device
        return super().run(y, psf, optics)
