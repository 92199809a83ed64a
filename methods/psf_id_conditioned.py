"""Conditioned PSF identification N_w(y, f_c, theta_max) on a patch grid, then the blind methods' non-blind solve."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping, cast

import numpy as np
import torch
import torch.nn.functional as F

from bench.api import LearnedMethod, Optics, Result, blind_track
from bench.solve.blind import deconvolve
from bench.learn.checkpoints import load_checkpoint
from bench.methods._deepblur import ConditionedIdentificationNet, build_conditioned, train_conditioned
from bench.solve.rules import NOISE_FLOOR, RULES
from bench.solve.solvers import noise_std, richardson_lucy_operator

POSTER_REFERENCE = (
    'M.-H. Nguyen, F. Sarron, P. Escande and P. Weiss, "Blind deconvolution in microscopy" '
    "(poster: learned PSF identification conditioned on the cut-off frequency and Zernike amplitude), "
    "IRIT/CBI, Universite de Toulouse."
)

#: Conditioning values averaged over when f_c or theta_max is unknown (uniform prior over the training ranges).
MARGINAL_POINTS = 5


class Method(LearnedMethod):
    r"""PSF from the conditioned identification network, image from the blind methods' non-blind solve.

    The network predicts the PSF at the centre of every ``patch`` x ``patch``
    window of a grid with step ``stride`` (the PSF grid of a space-varying
    model); for the space-invariant blur of the synthetic datasets the grid
    is averaged into one PSF, which is returned and scored, and handed to a
    classical non-blind solver, as poster 001 suggests: the one every blind
    method ends with (:func:`bench.solve.blind.deconvolve`, TV-regularised
    Richardson-Lucy with its fitted noise rules).

    Parameters
    ----------
    preset : {"cpu", "gpu"}
        Which shipped checkpoint to load.
    track : {"blind+optics", "blind"}
        ``blind+optics`` (default, the poster's design): the network is
        conditioned on the case's cut-off frequency :math:`f_c = \mathrm{NA}\,\Delta x/\lambda`
        (cycles/pixel), which the runner passes with the optics. ``blind``: f_c is
        unknown and the PSF is averaged over :data:`MARGINAL_POINTS` values spanning the
        training range (marginalised under a uniform prior).
    theta_max : float or None
        Amplitude bound of the aberrations in waves. It is not an optic a user
        knows: None (default) marginalises it like f_c.
    field : {"uniform", "varying"}
        ``uniform``: one PSF for the whole image, the mean of the grid. ``varying``:
        the grid feeds a product-convolution operator
        :math:`A x = \sum_k h_k \star (w_k \odot x)` (deepinv's ``SpaceVaryingBlur``,
        :math:`w_k` the bilinear interpolation weights of the patch centres, a
        partition of unity), inverted by Richardson-Lucy
        (:func:`bench.solve.solvers.richardson_lucy_operator`) with the iteration count
        of ``richardson_lucy``'s noise rule. The returned PSF is the grid's mean
        in both modes.
    patch, stride : int
        Size of the analysed windows (the training patch size) and their step.
    """

    name = "psf-id-conditioned"
    blind = True
    references = (POSTER_REFERENCE,)
    label_parameters: ClassVar[tuple[str, ...]] = ("preset", "track")
    test_params: ClassVar[Mapping[str, Any]] = {"patch": 32, "stride": 32}

    def __init__(
        self,
        *,
        preset: str = "cpu",
        track: str = "blind+optics",
        theta_max: float | None = None,
        field: str = "uniform",
        patch: int = 96,
        stride: int = 48,
    ) -> None:
        if patch < 16 or stride < 1:
            raise ValueError(f"patch must be >= 16 and stride >= 1, got {patch} and {stride}")
        if field not in ("uniform", "varying"):
            raise ValueError(f"field must be 'uniform' or 'varying', got {field!r}")
        self.field, self.track = field, blind_track(track)
        self.preset, self.theta_max, self.patch, self.stride = preset, theta_max, patch, stride
        self.network: ConditionedIdentificationNet | None = None

    @classmethod
    def train(cls, config: Any, checkpoint: Path, progress: Any = None) -> Mapping[str, float]:
        return train_conditioned(config, checkpoint, progress)

    def uses_optics(self) -> bool:
        return self.track == "blind+optics"

    def prepare(self, device: torch.device) -> None:
        path = self.checkpoint_path(self.preset)
        networks = load_checkpoint(path, build_conditioned, recreate=self.recreate_command(self.preset))
        self.network = cast(ConditionedIdentificationNet, networks["identification"].to(device))

    @property
    def loaded(self) -> ConditionedIdentificationNet:
        """The identification network, once :meth:`prepare` has loaded it."""
        if self.network is None:
            raise RuntimeError(f"{self.name} has no network yet: call prepare(device) first, it loads the checkpoint")
        return self.network

    def conditions(self, fc: float | None) -> tuple[torch.Tensor, torch.Tensor]:
        """The (f_c, theta_max) pairs the PSF is averaged over: one pair when both are known."""
        net = self.loaded
        fcs = (
            torch.tensor([fc])
            if fc is not None
            else torch.linspace(*cast(tuple[float, float], net.fc_range), MARGINAL_POINTS)
        )
        amplitudes = (
            torch.tensor([self.theta_max])
            if self.theta_max is not None
            else torch.linspace(*cast(tuple[float, float], net.theta_max_range), MARGINAL_POINTS)
        )
        grid_fc, grid_theta = torch.meshgrid(fcs, amplitudes, indexing="ij")
        return grid_fc.flatten(), grid_theta.flatten()

    def psf_grid(self, y: torch.Tensor, fc: float | None = None) -> torch.Tensor:
        """PSFs at the centres of the patch grid, (B, n_patches, k, k), averaged over the conditions."""
        batch, _, height, width = y.shape
        size = min(self.patch, height, width)
        patches = F.unfold(y, size, stride=self.stride)  # (B, size*size, n)
        count = patches.shape[-1]
        patches = patches.transpose(1, 2).reshape(batch * count, 1, size, size)
        fcs, amplitudes = self.conditions(fc)
        network = self.loaded
        psfs = torch.stack([
            network(patches, fc.expand(len(patches)).to(y), amplitude.expand(len(patches)).to(y))
            for fc, amplitude in zip(fcs, amplitudes)
        ]).mean(dim=0)  # fmt: skip
        return psfs.view(batch, count, *psfs.shape[-2:])

    def run(self, y: torch.Tensor, psf: torch.Tensor | None, optics: Optics | None) -> Result:
        grid = self.psf_grid(y, None if optics is None else optics.fc)
        psf_hat = grid.mean(dim=1, keepdim=True)
        psf_hat = psf_hat / psf_hat.sum(dim=(-2, -1), keepdim=True)
        conditioning = "fc given" if optics is not None else "fc marginalised"
        if self.field == "uniform":
            x_hat, info = deconvolve(y, psf_hat)
            return Result(x_hat=x_hat, psf_hat=psf_hat, info={"conditioning": conditioning, **info})
        rule = RULES["richardson_lucy.num_iter"]  # richardson_lucy's stop, at its default cap
        sigma = float(noise_std(y, floor=NOISE_FLOOR)[0])
        size = min(self.patch, *y.shape[-2:])
        x_hat = richardson_lucy_operator(
            y, *product_convolution(grid, cast(tuple[int, int], tuple(y.shape[-2:])), size, self.stride),
            num_iter=rule.iterations(sigma, max_iter=1000),
        )  # fmt: skip
        return Result(x_hat=x_hat, psf_hat=psf_hat, info={"conditioning": conditioning, "field": "varying"})


def product_convolution(
    grid: torch.Tensor, shape: tuple[int, int], patch: int, stride: int
) -> tuple[Callable[[torch.Tensor], torch.Tensor], Callable[[torch.Tensor], torch.Tensor]]:
    """Forward and adjoint of the space-varying blur interpolating a PSF grid.

    ``grid`` (1, n, k, k) holds the PSFs at the centres of the ``patch`` windows
    that :func:`torch.nn.functional.unfold` visits with step ``stride`` on an
    image of ``shape`` (row-major). Between centres the blur is interpolated
    bilinearly (deepinv's ``SpaceVaryingBlur`` with multipliers applied first,
    reflect boundary).
    """
    from deepinv.physics.blur import SpaceVaryingBlur

    height, width = shape
    rows = np.arange((height - patch) // stride + 1) * stride + (patch - 1) / 2
    cols = np.arange((width - patch) // stride + 1) * stride + (patch - 1) / 2
    if len(rows) * len(cols) != grid.shape[1]:
        raise ValueError(f"a grid of {grid.shape[1]} PSFs does not match {len(rows)} x {len(cols)} windows")
    weights_y, weights_x = _hat_weights(rows, height), _hat_weights(cols, width)
    multipliers = (weights_y[:, None, :, None] * weights_x[None, :, None, :]).reshape(-1, height, width)
    physics = SpaceVaryingBlur(
        filters=grid[:, None].to(torch.float32),
        multipliers=torch.from_numpy(multipliers)[None, None].to(grid),
        padding="reflect",
    )
    return physics.A, physics.A_adjoint


def _hat_weights(centres: np.ndarray, length: int) -> np.ndarray:
    """(n, length) linear interpolation weights of ``centres``: hats that sum to 1 everywhere."""
    positions = np.arange(length)
    return np.stack([np.interp(positions, centres, np.eye(len(centres))[i]) for i in range(len(centres))])
