"""The plugin contract: what a dataset yields and what a method returns.

A dataset plugin subclasses :class:`BaseDataset` and yields :class:`Case`
objects. A method plugin subclasses :class:`BaseMethod`; the runner hands it
one degraded image (and the true PSF when it is non-blind) as tensors on the
device it chose, and gets a :class:`Result` back. What the runner checked
before, the method need not check again: see :meth:`BaseMethod.run`. Cases are images (H, W)
or volumes (D, H, W); a method says which it restores in ``dims``, and the
runner skips it on data of other dimensions. Tunable parameters are the
keyword-only arguments of ``__init__``: their defaults are the documented
configuration and ``bench run`` overrides them with ``<name>.<param>=value``.
"""

from __future__ import annotations

import importlib.util
import inspect
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar, Mapping

import numpy as np
import torch

from bench.system.files import sha256_file

__all__ = [
    "TRACKS", "BaseDataset", "BaseMethod", "Case", "LearnedMethod", "Optics", "Result", "Scoring", "blind_track",
    "parameters", "track_of",
]  # fmt: skip

#: What a method is told, from least to most: the image; the image and the optics; the image and the PSF.
TRACKS: tuple[str, ...] = ("blind", "blind+optics", "non-blind")


@dataclass(frozen=True)
class Scoring:
    """How a case is scored, read from optional keys of its ``meta``; the defaults fit synthetic data.

    Attributes
    ----------
    reference : {"exact", "affine"}
        ``meta["reference"]``. ``exact``: ``x`` is the ground truth on the
        intensity scale of ``y``. ``affine``: ``x`` is a reference from another
        acquisition (SIM for a widefield input), on its own scale; the estimate
        is least-squares affine-fitted to it before PSNR/SSIM.
    psf_reference : bool
        ``meta["psf_reference"]``: whether the case PSF is a reference for PSF
        estimates (measured, simulated or from stated optics). False for a PSF
        given to non-blind methods without that standing (a demo's guess): PSF
        scores then stay empty.
    line_axis : int or None
        ``meta["line_profile"]["axis"]``: the image axis that test lines run
        along (0 for vertical lines); None: no line-profile scores.
    line_positions : tuple of int
        ``meta["line_profile"]["positions"]``: where the lines cross the
        profile averaged along ``line_axis``, in pixels.
    pixel_size_um : (float, float), (float, float, float) or None
        ``meta["pixel_size_um"]``: (dy, dx), or (dz, dy, dx) for volumes, in
        micrometres; None if unknown.
    bead_positions : tuple of index tuples
        ``meta["beads"]["positions"]``: sub-resolution beads, (z, y, x) each
        on a volume, whose widths in the estimate score its resolution
        (:func:`bench.score.probes.bead_fwhm`); empty: no bead scores.
    """

    reference: str = "exact"
    psf_reference: bool = True
    line_axis: int | None = None
    line_positions: tuple[int, ...] = ()
    pixel_size_um: tuple[float, ...] | None = None
    bead_positions: tuple[tuple[int, ...], ...] = ()

    def __post_init__(self) -> None:
        if self.reference not in ("exact", "affine"):
            raise ValueError(f"meta['reference'] must be 'exact' or 'affine', got {self.reference!r}")
        if self.line_axis not in (None, 0, 1):
            raise ValueError(f"meta['line_profile']['axis'] must be 0 or 1, got {self.line_axis!r}")

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> Scoring:
        """Parse the scoring keys of a case's metadata (absent keys take the defaults)."""
        lines = meta.get("line_profile") or {}
        pixel = meta.get("pixel_size_um")
        return cls(
            reference=str(meta.get("reference", "exact")),
            psf_reference=bool(meta.get("psf_reference", True)),
            line_axis=int(lines["axis"]) if lines else None,
            line_positions=tuple(int(p) for p in lines.get("positions", ())),
            pixel_size_um=None if pixel is None else tuple(float(p) for p in pixel),
            bead_positions=tuple(tuple(int(i) for i in p) for p in (meta.get("beads") or {}).get("positions", ())),
        )


@dataclass(frozen=True)
class Optics:
    r"""What a microscopist knows of the instrument, never the PSF itself (the ``blind+optics`` track).

    Attributes
    ----------
    fc : float
        Pupil cut-off frequency in cycles per pixel, :math:`f_c = \mathrm{NA} \cdot \text{pixel} / \lambda`
        (0.25 is Nyquist sampling).
    na, wavelength_um, pixel_size_um, refractive_index : float or None
        Numerical aperture, emission wavelength (µm), pixel size (µm) and
        immersion index, where known (real data); synthetic data has only ``fc``.
    """

    fc: float
    na: float | None = None
    wavelength_um: float | None = None
    pixel_size_um: float | None = None
    refractive_index: float | None = None

    def __post_init__(self) -> None:
        if not 0 < self.fc:
            raise ValueError(f"optics fc must be a positive cut-off frequency in cycles/pixel, got {self.fc}")

    @classmethod
    def from_meta(cls, meta: Mapping[str, Any]) -> Optics | None:
        """The optics of a case: ``meta["optics"]`` (a mapping of these fields) with its ``fc`` or ``meta["fc"]``; None without an f_c."""
        optics = dict(meta.get("optics") or {})
        fc = optics.get("fc", meta.get("fc"))
        if fc is None:  # a volume's optics describe its 3D PSF model, not a 2D pupil cut-off
            return None
        known = {key: optics[key] for key in ("na", "wavelength_um", "pixel_size_um", "refractive_index")
                 if optics.get(key) is not None}  # fmt: skip
        return cls(fc=float(fc), **{key: float(value) for key, value in known.items()})


@dataclass(frozen=True)
class Case:
    """One standardized benchmark input, identical for every method.

    Attributes
    ----------
    case_id : str
        Unique within its dataset, used as a file name.
    y : (H, W) or (D, H, W) float32 ndarray
        The degraded image or volume, intensities in [0, 1] for synthetic data.
    x : float32 ndarray of the shape of ``y``, or None
        The ground truth, None where no reference exists.
    psf : (k, l) or (m, k, l) float32 ndarray or None
        The true PSF with as many axes as ``y`` (odd sides, centred,
        non-negative, unit sum), None if unknown.
    meta : mapping
        Everything that made the case: image name, noise level and its
        parameters, cut-off frequency ``fc`` (cycles/pixel), Zernike
        coefficients, pixel size ``pixel_size_um`` as (dy, dx) or (dz, dy, dx)
        micrometres, seed; and the optional scoring keys read by :class:`Scoring`.
    """

    case_id: str
    y: np.ndarray
    x: np.ndarray | None
    psf: np.ndarray | None
    meta: Mapping[str, Any] = field(default_factory=dict)

    @property
    def noise(self) -> str:
        """Name of the noise level, or ``"unknown"`` for real data without one."""
        return str(self.meta.get("noise", "unknown"))

    @property
    def optics(self) -> Optics | None:
        """The optics a ``blind+optics`` method is told (:meth:`Optics.from_meta`), None if unknown."""
        return Optics.from_meta(self.meta)

    @property
    def scoring(self) -> Scoring:
        """How this case is scored (kind of reference, PSF standing, line profiles), from ``meta``."""
        return Scoring.from_meta(self.meta)


@dataclass
class Result:
    """What a method returns for its image.

    Attributes
    ----------
    x_hat : (1, 1, H, W) or (1, 1, D, H, W) float tensor
        The restored image or volume, the shape of the input.
    psf_hat : (1, 1, k, l) or (1, 1, m, k, l) float tensor or None
        The estimated PSF (blind methods that identify one), else None.
    info : dict
        Anything worth recording (iterations run, chosen regularisation
        weight); scalar values end up in the results table.
    """

    x_hat: torch.Tensor
    psf_hat: torch.Tensor | None = None
    info: dict[str, Any] = field(default_factory=dict)


class BaseMethod:
    """Base class of every deconvolution method plugin.

    Subclasses set the class attributes, take their tunables as typed
    keyword-only ``__init__`` arguments and implement :meth:`run`.
    """

    name: ClassVar[str]
    #: True if the method never sees the true PSF.
    blind: ClassVar[bool]
    #: True if the method needs trained weights.
    learned: ClassVar[bool] = False
    #: Primary references, as full citations.
    references: ClassVar[tuple[str, ...]] = ()
    #: Importable modules the method needs beyond the core dependencies.
    requires: ClassVar[tuple[str, ...]] = ()
    #: Parameters that make a run on a 32x32 case take about a second (tests).
    test_params: ClassVar[Mapping[str, Any]] = {}
    #: Parameters that set the method's budget or variant, shown in every row label even at their
    #: defaults (``name[budget=fast]``); other parameters appear there only when they differ from it.
    label_parameters: ClassVar[tuple[str, ...]] = ()
    #: Spatial dimensions the method restores: ``(2,)`` for images (1, 1, H, W) only, ``(2, 3)`` for
    #: volumes (1, 1, D, H, W) too. The runner skips a method on data of other dimensions, saying why.
    dims: ClassVar[tuple[int, ...]] = (2,)

    def unavailable(self, device: torch.device) -> str | None:
        """Why this method cannot run here (missing module, weights, CUDA), or None."""
        missing = [module for module in self.requires if importlib.util.find_spec(module) is None]
        if missing:
            return f"missing module(s) {', '.join(missing)}: pip install {' '.join(missing)}"
        return None

    @classmethod
    def unsupported_dims(cls, ndims: set[int]) -> str | None:
        """Why the method cannot restore cases of these dimensions (2: images, 3: volumes), or None."""
        other = sorted(set(ndims) - set(cls.dims))
        if not other:
            return None
        accepted = " and ".join(f"{d}D" for d in cls.dims)
        return f"restores {accepted} data only; this dataset's cases are {', '.join(f'{d}D' for d in other)}"

    def weights_digest(self) -> str | None:
        """sha256 of the weights the method loads, None without weights.

        It is part of a result row's run key: rows of other weights (a
        retrained checkpoint) are recomputed, never reused.
        """
        return None

    def prepare(self, device: torch.device) -> None:
        """Load weights or build operators once, before the first :meth:`run`."""

    def uses_optics(self) -> bool:
        """True if this blind method is told the optics: the runner then calls ``run(y, None, optics)``.

        A method that can run in both blind tracks takes a ``track`` parameter
        (``"blind"`` or ``"blind+optics"``) and returns ``self.track == "blind+optics"``.
        """
        return False

    def run(self, y: torch.Tensor, psf: torch.Tensor | None, optics: Optics | None) -> Result:
        """Restore one image (or volume), under ``torch.no_grad``.

        The runner calls it once per case, never with a batch; a method
        written for one image needs no loop over images. The runner has
        already checked the case (:func:`bench.run.cases.validate_case`): ``y``
        is finite float32 with as many spatial axes as ``dims`` allows, and
        a non-blind method always gets the case's PSF, finite, non-negative,
        odd-sided, centred and of unit sum. A method checks only what is its
        own (an image smaller than its kernel, say).

        Parameters
        ----------
        y : (1, 1, H, W) float32 tensor, or (1, 1, D, H, W) if 3 is in ``dims``
            The degraded image or volume on the runner's device.
        psf : (1, 1, k, l) or (1, 1, m, k, l) float32 tensor or None
            The true PSF for a non-blind method, None for a blind one.
        optics : Optics or None
            The case's optics for a method in the ``blind+optics`` track
            (:meth:`uses_optics`), never None there; None in the other tracks.
        """
        raise NotImplementedError


def blind_track(track: str) -> str:
    """Check the ``track`` parameter of a blind method that can run with or without the optics."""
    if track not in ("blind", "blind+optics"):
        raise ValueError(f"track must be one of blind, blind+optics; got {track!r}")
    return track


def track_of(method: BaseMethod) -> str:
    """The track a method instance runs in: ``non-blind``, ``blind+optics`` or ``blind`` (:data:`TRACKS`)."""
    if not method.blind:
        return "non-blind"
    return "blind+optics" if method.uses_optics() else "blind"


class LearnedMethod(BaseMethod):
    """A method whose weights come from ``bench train`` and ship as a checkpoint.

    Subclasses take a ``preset`` keyword (``"cpu"`` or ``"gpu"``) and load
    ``checkpoints/<target>-<preset>.pt`` next to their module, where
    ``<target>`` is the training command that writes it: the method itself,
    or ``trained_by`` when it reuses another method's networks.
    """

    learned = True
    #: The ``bench train`` target whose checkpoint this method loads (None: itself).
    trained_by: ClassVar[str | None] = None
    #: cpu and gpu checkpoints are different budgets: every row says which one it used.
    label_parameters: ClassVar[tuple[str, ...]] = ("preset",)
    preset: str

    @classmethod
    def training_target(cls) -> str:
        """Name given to ``bench train`` to produce this method's weights."""
        return cls.trained_by or cls.name

    @classmethod
    def checkpoint_path(cls, preset: str) -> Path:
        """Where ``bench train <target> preset=<preset>`` writes and this method reads its weights."""
        return Path(inspect.getfile(cls)).parent / "checkpoints" / f"{cls.training_target()}-{preset}.pt"

    @classmethod
    def recreate_command(cls, preset: str) -> str:
        """The command that (re)creates the checkpoint of ``preset``."""
        return f"bench train {cls.training_target()} preset={preset}"

    @classmethod
    def train(cls, config: Any, checkpoint: Path, progress: Any = None) -> Mapping[str, float]:
        """Train from a composed training configuration, write ``checkpoint``; return validation figures."""
        raise NotImplementedError(f"{cls.name} is trained by `bench train {cls.training_target()}`")

    def weights_digest(self) -> str | None:
        path = self.checkpoint_path(self.preset)
        return sha256_file(path) if path.is_file() else None

    def unavailable(self, device: torch.device) -> str | None:
        reason = super().unavailable(device)
        path = self.checkpoint_path(self.preset)
        if reason is None and not path.is_file():
            return f"missing checkpoint {path.name}: recreate it with `{self.recreate_command(self.preset)}`"
        return reason


class BaseDataset:
    """Base class of every dataset plugin.

    A dataset is a deterministic list of cases: ``make_case(case_id)`` must
    return the same arrays on every call, so cases can be cached and checked
    against their sha256 manifest.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""

    def case_ids(self) -> list[str]:
        """Identifiers of every case, in a fixed order."""
        raise NotImplementedError

    def make_case(self, case_id: str) -> Case:
        """Build one case from scratch (the runner caches it)."""
        raise NotImplementedError

    def image_shape(self) -> tuple[int, ...]:
        """(H, W) of the degraded images, or (D, H, W) of volumes, for ``bench list``."""
        raise NotImplementedError


def parameters(plugin: type) -> dict[str, Any]:
    """The tunable parameters of a plugin class and their defaults.

    They are the keyword-only arguments of ``__init__``; each must have a default.
    """
    signature = inspect.signature(plugin)
    return {p.name: p.default for p in signature.parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY}
