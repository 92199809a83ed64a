"""Deep-Blur: a ResNet identifies the PSF, an unrolled Douglas-Rachford network deblurs with it."""

from __future__ import annotations

import torch

from bench.api import Optics, Result, blind_track
from bench.methods._deepblur import DeepBlurNetworks


class Method(DeepBlurNetworks):
    r"""Blind deblurring by physics-based identification then unrolled deblurring (Deep-Blur).

    The identification network (:class:`~bench.methods._deepblur.IdentificationNet`)
    regresses the Zernike coefficients (Noll 4-11) and the cut-off frequency of
    the PSF from the degraded image; the PSF is rebuilt with the datasets' own
    diffraction model and returned, so PSF-SNR scores the identification. The
    deblurring network (:class:`~bench.methods._deepblur.UnrolledDouglasRachford`,
    Algorithm 1 with T = 4 learned proximal DRUNets) restores the image with
    that estimate. Both are trained on synthetic degradations of the training
    images only (``bench train deepblur``); the network never sees the noise
    level, it estimates it.

    Parameters
    ----------
    preset : {"cpu", "gpu"}
        Which shipped checkpoint to load: ``cpu`` is the small network trained
        on 2 CPU cores, ``gpu`` the paper-sized one (trained on a GPU).
    track : {"blind", "blind+optics"}
        ``blind`` (default): the cut-off frequency is estimated with the
        coefficients. ``blind+optics``: the runner passes the optics and the PSF
        is rebuilt at the known :math:`f_c`; Deep-Blur's own experiments fix
        :math:`f_c`, so its Table 1 compares with this track.
    """

    name = "deepblur"
    blind = True
    label_parameters = ("preset", "track")

    def __init__(self, *, preset: str = "cpu", track: str = "blind") -> None:
        self.preset, self.track = preset, blind_track(track)
        self.networks: dict[str, torch.nn.Module] = {}

    def uses_optics(self) -> bool:
        return self.track == "blind+optics"

    def run(self, y: torch.Tensor, psf: torch.Tensor | None, optics: Optics | None) -> Result:
        fc = None if optics is None else torch.full((len(y),), optics.fc, device=y.device)
        psf_hat = self.networks["identification"].psf(y, fc)
        return Result(x_hat=self.networks["deblurring"](y, psf_hat), psf_hat=psf_hat)
