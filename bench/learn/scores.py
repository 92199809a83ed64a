"""Validation figures of a training stage: mean PSNR of restored images, mean PSF-SNR of estimated PSFs."""

from __future__ import annotations

from typing import Callable, Sequence

import numpy as np
import torch

from bench.learn.sampler import TrainingBatch
from bench.score.image import psnr
from bench.score.psf import psf_snr

__all__ = ["mean_psf_snr", "mean_psnr"]


def mean_psnr(batches: Sequence[TrainingBatch], restore: Callable[[TrainingBatch], torch.Tensor]) -> float:
    """Mean PSNR (data range 1) of ``restore(batch)`` against the sharp images, over batches."""
    return _mean_score(batches, lambda batch: batch.x, restore, lambda x, x_hat: psnr(x, x_hat, data_range=1.0))


def mean_psf_snr(batches: Sequence[TrainingBatch], estimate: Callable[[TrainingBatch], torch.Tensor]) -> float:
    """Mean PSF-SNR (Deep-Blur eq. 6, :func:`bench.score.psf.psf_snr`) of ``estimate(batch)`` over batches."""
    return _mean_score(batches, lambda batch: batch.psf, estimate, psf_snr)


def _mean_score(batches, reference, estimate, metric) -> float:
    """Mean of ``metric(reference, estimate)`` over every image of every batch."""
    return float(np.mean([
        metric(true, guess)
        for batch in batches
        for true, guess in zip(reference(batch)[:, 0].cpu().numpy(), estimate(batch)[:, 0].cpu().numpy())
    ]))  # fmt: skip
