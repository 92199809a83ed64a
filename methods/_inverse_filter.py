"""What the Wiener and Tikhonov plugins share: one closed-form filter, two priors (a helper, not a plugin)."""

from __future__ import annotations

from typing import ClassVar, Literal

import torch

from bench.api import BaseMethod, Optics, Result
from bench.solve.operators import PaddingMode
from bench.solve.rules import RULES, NoiseRule
from bench.solve.solvers import PADDINGS, noise_std, regularized_inverse


class InverseFilter(BaseMethod):
    """Closed-form regularised inverse with the weight of the rule ``RULES["<name>.weight"]`` unless given.

    Subclasses set ``regularizer``; their rules live in :mod:`bench.solve.rules`.
    """

    blind = False
    learned = False
    dims = (2, 3)  # the solvers run over every spatial axis
    test_params = {}
    regularizer: ClassVar[Literal["identity", "gradient"]]

    def __init__(self, *, weight: float | None = None, padding: PaddingMode = "edge") -> None:
        if weight is not None and not weight > 0:
            raise ValueError(f"weight must be > 0 or None (derived from the noise), got {weight}")
        if padding not in PADDINGS:
            raise ValueError(f"padding must be one of {', '.join(PADDINGS)}; got {padding!r}")
        self.weight = weight
        self.padding = padding

    def run(self, y: torch.Tensor, psf: torch.Tensor | None, optics: Optics | None) -> Result:
        rule: NoiseRule = RULES[f"{self.name}.weight"]
        sigma = noise_std(y, floor=rule.floor)
        weight = rule(sigma) if self.weight is None else torch.full_like(sigma, self.weight)
        x_hat = regularized_inverse(y, psf, regularizer=self.regularizer, weight=weight, padding=self.padding)
        info = {"weight": weight.mean().item(), "sigma_hat": sigma.mean().item()}
        return Result(x_hat=x_hat, psf_hat=None, info=info)
