"""Raw camera data: estimate the detector offset of an image and the flat background of a measured PSF.

Microscope cameras add a constant offset (100 counts on many sCMOS cameras)
to every pixel, and a measured bead PSF sits on that offset plus the sample's
background. Both must be removed before the image is scaled and the PSF
normalised: left in, the PSF's flat pedestal acts as a huge blur and the
image's offset as signal. These estimators find them from the data alone, so
a dataset can subtract them (``offset=auto``) or warn when the user gave no
value and the data clearly holds one.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage

__all__ = ["OFFSET_WARNING_FRACTION", "PSF_BACKGROUND_WARNING_FRACTION", "estimate_offset", "estimate_psf_background"]

#: Warn about an unset offset when the estimate exceeds this fraction of the image's maximum.
OFFSET_WARNING_FRACTION = 0.02
#: Warn about an unset PSF background when the flat background holds more than this fraction of the PSF's total.
PSF_BACKGROUND_WARNING_FRACTION = 0.02


def estimate_offset(image: np.ndarray, *, percentile: float = 1.0, smoothing_px: float = 2.0) -> float:
    """Detector offset (plus any uniform background) of a raw image, in its counts.

    The ``percentile`` of the image smoothed by a Gaussian of ``smoothing_px``:
    smoothing averages the read and shot noise of the dark pixels (by about
    ``1 / (2 sqrt(pi) smoothing_px)`` in standard deviation) so the low
    percentile lands on the dark level instead of on its noise tail. Needs
    some dark background in the field; on an image filled with sample it
    returns the sample's lowest level, which is then taken as background.
    """
    smooth = scipy.ndimage.gaussian_filter(np.asarray(image, dtype=np.float64), smoothing_px, mode="nearest")
    return float(np.percentile(smooth, percentile))


def estimate_psf_background(psf: np.ndarray, *, border_fraction: float = 0.125) -> float:
    """Flat background of a measured PSF: the median of its border frame.

    The frame is ``max(1, round(border_fraction * min(shape)))`` pixels wide,
    where a PSF cropped wide enough around its bead holds only background;
    the median ignores a neighbouring bead or a hot pixel there.
    """
    psf = np.asarray(psf, dtype=np.float64)
    width = max(1, round(border_fraction * min(psf.shape)))
    frame = np.ones(psf.shape, dtype=bool)
    frame[width:-width, width:-width] = False
    return float(np.median(psf[frame]))
