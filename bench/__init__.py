"""deconv-bench: a reference benchmark for deconvolution in microscopy."""

from bench._compat import install_torchvision_guard

install_torchvision_guard()

__version__ = "0.1.0"
