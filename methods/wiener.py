"""Wiener filter with a white-signal prior, weight from the estimated noise level."""

from __future__ import annotations

from bench.methods._inverse_filter import InverseFilter


class Method(InverseFilter):
    r"""Wiener deconvolution: the closed-form filter for a white signal in white noise.

    Parameters
    ----------
    weight : float or None
        Noise-to-signal ratio :math:`w > 0` (dimensionless, the OTF is 1 at
        zero frequency). None derives it from the data (Notes).
    padding : {"zero", "mean", "edge", "reflect"}
        Extension of ``y`` before the circular FFT, by twice the PSF radius.
        ``"edge"`` gave the highest PSNR on the training images at every
        noise level but the highest, where all are within 0.1 dB (noiseless:
        33.5 dB against 31.0 for ``"reflect"``, 21.1 for ``"mean"``, 11.8 for
        ``"zero"``).

    Notes
    -----
    .. math::
        \hat X = \frac{\overline{H}\, \tilde Y}{|H|^2 + w}, \qquad
        w = \max(\hat\sigma, \sigma_0) \text{ if weight is None}

    (:func:`bench.solvers.regularized_inverse` with ``regularizer="identity"``),
    :math:`\hat\sigma` the wavelet MAD noise estimate of ``y``
    (:func:`bench.solvers.noise_std`) and :math:`\sigma_0` =
    :data:`bench.rules.NOISE_FLOOR` (3e-4). The rule :math:`w = c\,\hat\sigma^p`
    (``RULES["wiener.weight"]`` in :mod:`bench.rules`, refitted by
    ``python calibration/noise_rules.py``) was calibrated on the 18 training images at the four provisional noise
    levels (256 x 256, 31 x 31 Fresnel PSFs): :math:`p = 1, c = 1` maximised
    the mean PSNR, within 0.6 dB of the best weight chosen per image with the
    ground truth (noiseless 33.5 / low 25.5 / medium 22.2 / high 20.2 dB
    against 33.9 / 26.1 / 22.7 / 20.8). The discrepancy principle did worse:
    the PSFs are band-limited, so the noise above their cut-off stays in the
    residual for every :math:`w` and the residual hardly depends on the
    weight; and the MAD estimate is below the root mean square of
    Poisson noise on images with dark regions, which drove :math:`w` to 0
    there (mean PSNR 18-21 dB at the noisy levels). The floor stands for the
    model error of noiseless data (padding, PSF truncation).

    About 3 ms per 256 x 256 image on 2 CPU cores, the noise estimate included.

    References
    ----------
    .. [1] N. Wiener, *Extrapolation, Interpolation, and Smoothing of
       Stationary Time Series*, MIT Press, 1949.
    """

    name = "wiener"
    references = ("N. Wiener, Extrapolation, Interpolation, and Smoothing of Stationary Time Series, MIT Press, 1949.",)
    regularizer = "identity"
