"""The mathematics methods share: operators, solvers, regularisation rules, blind deconvolution, PSF identification.

- :mod:`bench.solve.operators`: FFT convolution with boundary padding, OTFs, the noise estimate;
- :mod:`bench.solve.solvers`: Richardson-Lucy, the regularised inverse, FISTA-style loops;
- :mod:`bench.solve.rules`: the noise-to-parameter rules fitted by ``calibration/noise_rules.py``;
- :mod:`bench.solve.blind`: the parts of blind deconvolution (PSF projection, kernel size checks, the final deconvolution);
- :mod:`bench.solve.identification`: spectral features for identifying a PSF from one image;
- :mod:`bench.solve.tiling`: overlapping tiles for images larger than memory.
"""
