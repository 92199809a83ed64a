"""Scoring a restoration: with a reference, against the true PSF, and without ground truth.

- :mod:`bench.score.image`: PSNR, SSIM, the affine fit;
- :mod:`bench.score.psf`: PSF-SNR, PSF-PSNR, re-blur PSNR;
- :mod:`bench.score.reference_free`: re-blur residual, negative fraction, peak ratio, ringing;
- :mod:`bench.score.resolution`: resolution by decorrelation analysis;
- :mod:`bench.score.probes`: test lines, beads and tiling seams of real data;
- :mod:`bench.score.case`: :class:`~bench.score.case.CaseScorer`, every score of one case at once.
"""
