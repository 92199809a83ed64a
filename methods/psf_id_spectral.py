"""Learned blind identification from windowed power spectra, for the blind and blind+optics tracks."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import torch

from bench.api import LearnedMethod, Optics, Result, blind_track
from bench.solve.blind import deconvolve
from bench.learn.checkpoints import load_checkpoint
from bench.methods._spectral_id import build_spectral, train_spectral


class Method(LearnedMethod):
    r"""Zernike PSF identified by a network reading the image's log power spectrum; image by the shared blind solve.

    A small convolutional network (:class:`~bench.methods._spectral_id.SpectralIdentificationNet`)
    maps the log Welch spectrum of ``y`` (64 x 64 Hann tiles, half overlapping),
    where the blur's :math:`|\mathrm{OTF}|^2` shows directly, to the Zernike
    coefficients (Noll 4-11) and, when the optics are not given, the cut-off
    :math:`f_c`. The PSF is rendered by the datasets' own model
    (:class:`bench.physics.psf_model.ZernikePSF`), its point reflection, which no
    spectrum can see, chosen from the image
    (:func:`bench.solve.identification.choose_reflection`); the image is restored
    by the non-blind solve every blind plugin shares
    (:func:`bench.solve.blind.deconvolve`), so its rows read against the other
    blind rows as a comparison of PSF estimates.

    One network serves both tracks: trained with the optics withheld from half
    of the samples, it marginalises :math:`f_c` when it is not told it.
    :math:`\theta_{max}` is marginalised over [0, 0.15] waves, never estimated.

    Parameters
    ----------
    preset : {"cpu", "gpu"}
        Which shipped checkpoint to load.
    track : {"blind+optics", "blind"}
        ``blind+optics`` (default): the runner passes the case's optics and the
        PSF is rendered at its :math:`f_c`; ``blind``: the image alone.
    restore : {"shared", "unrolled"}
        ``shared`` (default): the blind plugins' common solve, so that rows
        compare PSF estimates. ``unrolled``: Deep-Blur's unrolled
        Douglas-Rachford network, trained (its eq. 5) on this network's own
        estimates, so it has learned how far to trust them; the checkpoint
        holds it when its training configuration has a ``deblurring`` stage.
    """

    name = "psf-id-spectral"
    blind = True
    references = (
        (
            'R. L. Lagendijk, J. Biemond and D. E. Boekee, "Identification and restoration of noisy blurred '
            'images using the expectation-maximization algorithm", IEEE Trans. ASSP 38(7), 1990.'
        ),
        (
            'V. Debarnot and P. Weiss, "Deep-blur: Blind identification and deblurring with convolutional '
            'neural networks", Biological Imaging, vol. 4, e13, 2024.'
        ),
    )
    label_parameters = ("preset", "track")
    test_params: Mapping[str, Any] = {}

    def __init__(self, *, preset: str = "cpu", track: str = "blind+optics", restore: str = "shared") -> None:
        if restore not in ("shared", "unrolled"):
            raise ValueError(f"restore must be 'shared' or 'unrolled', got {restore!r}")
        self.preset, self.track, self.restore = preset, blind_track(track), restore
        self.networks: dict[str, torch.nn.Module] = {}

    @classmethod
    def train(cls, config: Any, checkpoint: Path, progress: Any = None) -> Mapping[str, float]:
        return train_spectral(config, checkpoint, progress)

    def uses_optics(self) -> bool:
        return self.track == "blind+optics"

    def prepare(self, device: torch.device) -> None:
        path = self.checkpoint_path(self.preset)
        networks = load_checkpoint(path, build_spectral, recreate=self.recreate_command(self.preset))
        if self.restore == "unrolled" and "deblurring" not in networks:
            raise ValueError(
                f"{path.name} has no deblurring network: pass {self.name}.restore=shared, or train one with "
                f"`{self.recreate_command(self.preset)}` and a deblurring stage in its configuration"
            )
        self.networks = {name: network.to(device) for name, network in networks.items()}

    def run(self, y: torch.Tensor, psf: torch.Tensor | None, optics: Optics | None) -> Result:
        fc = None if optics is None else torch.full((len(y),), optics.fc, device=y.device)
        psf_hat = self.networks["identification"].identify(y, fc)
        if self.restore == "unrolled":
            return Result(x_hat=self.networks["deblurring"](y, psf_hat), psf_hat=psf_hat)
        x_hat, info = deconvolve(y, psf_hat)
        return Result(x_hat=x_hat, psf_hat=psf_hat, info=info)
