"""Tracks: the optics reach only the blind methods that declare them, never the PSF; rows say their track."""

from typing import ClassVar

import numpy as np
import pytest
import torch

from bench.api import BaseMethod, Case, Optics, Result, track_of
from bench.registry import Registry
from bench.run.runner import call_method


class Probe(BaseMethod):
    """Records what the runner handed it."""

    name = "probe"
    blind = True
    seen: ClassVar[dict] = {}

    def __init__(self, *, track: str = "blind+optics") -> None:
        self.track = track

    def uses_optics(self) -> bool:
        return self.track == "blind+optics"

    def run(self, y, psf, optics):
        type(self).seen = {"psf": psf, "optics": optics}
        return Result(y)


class NonBlindProbe(Probe):
    name = "probe_nonblind"
    blind = False


def _case(meta) -> Case:
    psf = np.zeros((5, 5), np.float32)
    psf[2, 2] = 1
    return Case("c", y=np.ones((8, 8), np.float32), x=None, psf=psf, meta=meta)


def test_optics_go_only_to_methods_in_the_blind_optics_track_and_never_the_psf():
    case = _case({"fc": 0.2, "noise": "low"})
    call_method(Probe(), case, torch.device("cpu"))
    assert Probe.seen["psf"] is None and Probe.seen["optics"] == Optics(fc=0.2)
    call_method(Probe(track="blind"), case, torch.device("cpu"))
    assert Probe.seen == {"psf": None, "optics": None}
    call_method(NonBlindProbe(), case, torch.device("cpu"))  # non-blind: the PSF, and no optics
    assert Probe.seen["optics"] is None and torch.equal(NonBlindProbe.seen["psf"][0, 0], torch.from_numpy(case.psf))


def test_tracks_of_methods():
    assert (track_of(Probe()), track_of(Probe(track="blind")), track_of(NonBlindProbe())) == (
        "blind+optics", "blind", "non-blind",
    )  # fmt: skip


def test_a_case_without_optics_refuses_the_optics_track_with_the_fix():
    with pytest.raises(ValueError, match=r"states no optics .* probe.track=blind"):
        call_method(Probe(), _case({}), torch.device("cpu"))


def test_optics_are_read_from_meta():
    full = {"optics": {"fc": 0.18, "na": 1.4, "wavelength_um": 0.52, "pixel_size_um": 0.0668, "refractive_index": None}}
    assert Optics.from_meta(full) == Optics(fc=0.18, na=1.4, wavelength_um=0.52, pixel_size_um=0.0668)
    assert Optics.from_meta({"fc": 0.2}) == Optics(fc=0.2)
    assert Optics.from_meta({}) is None
    assert Optics.from_meta({"optics": {"na": 1.4, "ni": 1.5}}) is None  # a 3D model's optics, no pupil cut-off
    with pytest.raises(ValueError, match="positive cut-off"):
        Optics(fc=0.0)


def test_registry_accepts_run_self_y_psf_optics_and_nothing_else():
    class Odd(BaseMethod):
        name = "odd"
        blind = True

        def run(self, y, psf, extra=None):
            return Result(y)

    registry = Registry()
    registry.add("method", Probe, "tests")
    registry.add("method", Odd, "tests")
    assert "probe" in registry.methods and "odd" not in registry.methods
    assert "run(self, y, psf, optics)" in registry.broken[-1].error and "extra=None" in registry.broken[-1].error


def test_a_non_blind_method_is_never_called_without_a_psf():
    """The plugins rely on it (they no longer check): the runner refuses a case without a PSF, naming the fix."""
    case = Case("c", np.zeros((8, 8), np.float32), None, None, {})
    with pytest.raises(ValueError, match="non-blind but case c has no PSF; run blind methods on it"):
        call_method(NonBlindProbe(), case, torch.device("cpu"))
