"""The plugin contract of bench.api: metadata parsing, case properties, parameters and tracks."""

import numpy as np
import pytest
import torch

from bench.api import BaseMethod, Case, Optics, Scoring, blind_track, parameters, track_of


def test_scoring_from_empty_meta_takes_the_synthetic_defaults():
    assert Scoring.from_meta({}) == Scoring("exact", True, None, (), None, ())


def test_scoring_from_meta_reads_every_key():
    meta = {
        "reference": "affine",
        "psf_reference": False,
        "line_profile": {"axis": 0, "positions": [3.0, 7]},
        "pixel_size_um": [0.1, 0.065],
        "beads": {"positions": [[1, 2, 3], [4.0, 5, 6]]},
    }
    scoring = Scoring.from_meta(meta)
    assert scoring.reference == "affine" and scoring.psf_reference is False
    assert scoring.line_axis == 0 and scoring.line_positions == (3, 7)
    assert scoring.pixel_size_um == (0.1, 0.065)
    assert scoring.bead_positions == ((1, 2, 3), (4, 5, 6))


@pytest.mark.parametrize(
    ("meta", "message"),
    [
        ({"reference": "sim"}, r"meta\['reference'\] must be 'exact' or 'affine', got 'sim'"),
        ({"line_profile": {"axis": 2}}, r"meta\['line_profile'\]\['axis'\] must be 0 or 1, got 2"),
    ],
)
def test_scoring_refuses_bad_meta_naming_the_key(meta, message):
    with pytest.raises(ValueError, match=message):
        Scoring.from_meta(meta)


def test_optics_from_meta_prefers_the_optics_fc_and_keeps_only_known_fields():
    meta = {"fc": 0.1, "optics": {"fc": 0.2, "na": 1.4, "wavelength_um": None, "refractive_index": "1.515"}}
    assert Optics.from_meta(meta) == Optics(fc=0.2, na=1.4, refractive_index=1.515)
    assert Optics.from_meta({"fc": 0.25}) == Optics(fc=0.25)
    assert Optics.from_meta({"optics": {"na": 1.2}}) is None  # no cut-off frequency: no 2D optics


@pytest.mark.parametrize("fc", [0.0, -0.1])
def test_optics_refuses_a_non_positive_cut_off(fc):
    with pytest.raises(ValueError, match=f"optics fc must be a positive cut-off frequency in cycles/pixel, got {fc}"):
        Optics(fc=fc)


def test_case_properties_come_from_its_meta():
    y = np.zeros((4, 4), np.float32)
    case = Case("c0", y, None, None, {"noise": "high", "fc": 0.2, "reference": "affine"})
    assert case.noise == "high"
    assert case.optics == Optics(fc=0.2)
    assert case.scoring.reference == "affine"
    bare = Case("c1", y, None, None)
    assert bare.noise == "unknown" and bare.optics is None and bare.scoring == Scoring()


class _NonBlind(BaseMethod):
    name = "nb"
    blind = False

    def __init__(self, *, weight: float = 0.5, steps: int = 3):
        self.weight, self.steps = weight, steps


class _Blind(BaseMethod):
    name = "b"
    blind = True
    requires = ("a_module_that_is_not_installed_anywhere",)

    def __init__(self, *, track: str = "blind"):
        self.track = blind_track(track)

    def uses_optics(self):
        return self.track == "blind+optics"


def test_parameters_are_the_keyword_only_arguments_and_their_defaults():
    assert parameters(_NonBlind) == {"weight": 0.5, "steps": 3}
    assert parameters(_Blind) == {"track": "blind"}


def test_track_of_each_kind_of_method():
    assert track_of(_NonBlind()) == "non-blind"
    assert track_of(_Blind()) == "blind"
    assert track_of(_Blind(track="blind+optics")) == "blind+optics"


def test_blind_track_refuses_other_tracks_naming_the_choices():
    with pytest.raises(ValueError, match=r"track must be one of blind, blind\+optics; got 'non-blind'"):
        _Blind(track="non-blind")


def test_unavailable_names_the_missing_module_and_how_to_install_it():
    cpu = torch.device("cpu")
    assert _NonBlind().unavailable(cpu) is None
    reason = _Blind().unavailable(cpu)
    assert reason == (
        "missing module(s) a_module_that_is_not_installed_anywhere: pip install a_module_that_is_not_installed_anywhere"
    )


def test_unsupported_dims_says_what_the_method_restores():
    assert _NonBlind.unsupported_dims({2}) is None
    assert _NonBlind.unsupported_dims({2, 3}) == "restores 2D data only; this dataset's cases are 3D"
