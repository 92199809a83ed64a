"""The physics of the forward model: PSFs, the microscope's optics, degradation and the camera.

- :mod:`bench.physics.psfs`: Gaussian, Zernike-aberrated and 3D widefield/confocal PSFs;
- :mod:`bench.physics.psf_model`: the differentiable Zernike pupil model that PSF-identification methods fit;
- :mod:`bench.physics.optics`: a microscope's numerical aperture, wavelength and pixel size, and its model PSF;
- :mod:`bench.physics.degradation`: blur, Poisson-Gaussian noise and the noise levels of a dataset;
- :mod:`bench.physics.camera`: camera counts to photo-electrons (offset, gain, read noise);
- :mod:`bench.physics.psf_geometry`: a PSF on a canvas, in the common frame it is compared in, its width.
"""
