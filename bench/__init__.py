"""deconv-bench: a reference benchmark for deconvolution in microscopy."""

from bench._compat import ensure_torchvision_importable

ensure_torchvision_importable()

__version__ = "0.1.0"
