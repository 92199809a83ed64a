"""What a network reads: each image brought to zero mean and unit deviation, so exposure does not matter."""

from __future__ import annotations

import torch

__all__ = ["standardize"]


def standardize(y: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Zero mean, unit standard deviation per image (over the last two axes); returns it, the means and the deviations.

    What a network reads, so that it does not depend on exposure; the deviation is at least 1e-6.
    """
    mean = y.mean(dim=(-2, -1), keepdim=True)
    std = y.std(dim=(-2, -1), keepdim=True).clamp(min=1e-6)
    return (y - mean) / std, mean, std
