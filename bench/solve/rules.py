r"""The fitted rules that set a method's weight or iteration count from the noise in its input.

No method is told the noise level or tuned on the benchmark's test images.
Where a method needs a regularisation weight or an iteration count, it takes
it from the wavelet-MAD noise estimate :math:`\hat\sigma` of its input
(:func:`bench.solve.operators.estimate_noise_std`) through one :class:`NoiseRule`:

.. math::

    v = \min\bigl(c\,\max(\hat\sigma, \sigma_0)^p,\ v_{max}\bigr)

with the scale :math:`c`, power :math:`p` and noise floor :math:`\sigma_0`
fitted on the training images (iteration counts are rounded and kept in
``[1, max_iter]``). The floor is part of each rule: it stands for the model
error of noiseless data (padding, PSF truncation, the solver's budget), so it
was fitted with the rule and applied here, in one place.

:data:`RULES` holds every shipped rule. ``python calibration/noise_rules.py``
refits them on training images only (``dataset.images=train``) and prints the
constants it finds next to these.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import overload

import torch

__all__ = ["NOISE_FLOOR", "RULES", "NoiseRule"]

#: Least noise assumed by the closed-form and Richardson-Lucy rules (and the blind
#: methods' solves): noiseless data still carry padding and truncation error.
NOISE_FLOOR = 3e-4


@dataclass(frozen=True)
class NoiseRule:
    r"""A weight or count from the noise estimate: :math:`\min(c\,\max(\hat\sigma, \sigma_0)^p, v_{max})`.

    Parameters
    ----------
    scale : float
        :math:`c > 0`.
    power : float
        :math:`p`; negative for iteration counts (less noise, more iterations).
    floor : float
        :math:`\sigma_0 > 0`, the least noise assumed.
    cap : float
        :math:`v_{max}`, the largest value (``inf``: none).

    Examples
    --------
    >>> rule = NoiseRule(scale=0.3, power=1.0, floor=3e-4, cap=0.2)
    >>> round(rule(0.01), 6), rule(1.0)
    (0.003, 0.2)
    >>> NoiseRule(scale=0.15, power=-1.25).iterations(0.02, max_iter=1000)
    20
    """

    scale: float
    power: float
    floor: float = NOISE_FLOOR
    cap: float = math.inf

    def __post_init__(self) -> None:
        if not (self.scale > 0 and self.floor > 0 and self.cap > 0):
            raise ValueError(f"a noise rule needs scale, floor and cap > 0, got {self}")

    @overload
    def __call__(self, sigma: float) -> float: ...
    @overload
    def __call__(self, sigma: torch.Tensor) -> torch.Tensor: ...

    def __call__(self, sigma):
        """The rule's value for noise estimate(s) ``sigma`` (a float, or a tensor elementwise)."""
        if isinstance(sigma, torch.Tensor):
            value = self.scale * sigma.clamp(min=self.floor) ** self.power
            return value.clamp(max=self.cap) if math.isfinite(self.cap) else value
        return min(self.scale * max(sigma, self.floor) ** self.power, self.cap)

    def iterations(self, sigma: float, *, max_iter: int) -> int:
        """The rule as an iteration count: rounded, in ``[1, max_iter]``."""
        return min(max_iter, max(1, round(self(sigma))))


#: The split-Bregman and variational rules (TV, L1-Haar, L1) are the refit of
#: ``calibration/noise_rules.py`` (128 x 128, all 19 training images), repeated until it
#: reproduced them; the others are the first fit, which that refit reproduces within its tolerance.
#: Every shipped rule, by ``<method>.<parameter>`` (``<method>[<options>].<parameter>`` where
#: the method's options choose among several). Each plugin's docstring states its rule and why;
#: ``calibration/noise_rules.py`` refits them on training images and prints the difference.
RULES: dict[str, NoiseRule] = {
    "wiener.weight": NoiseRule(scale=1.0, power=1.0),
    "tikhonov.weight": NoiseRule(scale=31.6, power=1.5),
    "richardson_lucy.num_iter": NoiseRule(scale=0.15, power=-1.25),
    "richardson_lucy_tv.num_iter": NoiseRule(scale=0.068, power=-1.5),
    "richardson_lucy_tv.tv_weight": NoiseRule(scale=0.3, power=1.0, cap=0.2),
    "pylops_tv.lam": NoiseRule(scale=1.56, power=1.75, floor=1e-4),
    "pylops_tv_haar.lam": NoiseRule(scale=1.28, power=1.75, floor=1e-4),
    "pylops_l1_haar.lam": NoiseRule(scale=3.58, power=1.75, floor=1e-4),
    "variational[data=l2,prior=tv].lam": NoiseRule(scale=1.81, power=1.75, floor=3e-3),
    "variational[data=kl,prior=tv].lam": NoiseRule(scale=1.67, power=1.75, floor=3e-3),
    "variational[data=kl,prior=l1].lam": NoiseRule(scale=5.61, power=1.5, floor=1e-4),
    "variational[data=l2,prior=l1].lam": NoiseRule(scale=4.23, power=1.5, floor=1e-4),
}
