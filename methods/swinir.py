"""SwinIR: a shifted-window transformer trained to map degraded images to sharp ones (blind, no PSF)."""

from __future__ import annotations

from typing import Any, Mapping

from torch import nn

from bench.methods._restoration import DirectRestoration

SWINIR_REFERENCE = (
    'J. Liang, J. Cao, G. Sun, K. Zhang, L. Van Gool and R. Timofte, "SwinIR: Image restoration using '
    'Swin Transformer", IEEE/CVF International Conference on Computer Vision Workshops, pp. 1833-1844, 2021.'
)


class Method(DirectRestoration):
    """SwinIR (Liang et al. 2021) from deepinv, trained by ``bench train swinir`` on the Deep-Blur degradations.

    Seed 003 trains SwinIR on synthetic degradations of its scanner; here it
    learns the benchmark's microscope model (the same degradations and
    recipe as ``nafnet`` and ``deepblur``, training images only). deepinv's
    SwinIR with ``pretrained=None`` (nothing is downloaded) and the
    denoising/deblurring head (``upscale=1``): shallow convolution, residual
    Swin transformer blocks of shifted-window attention, global residual. The
    per-image standardisation makes it exposure independent. No parameter is
    tuned on benchmark images.

    Parameters
    ----------
    preset : {"cpu", "gpu"}
        ``cpu``: embedding 32, three residual groups of two layers (4 heads,
        8x8 windows), 0.1 M parameters, trained on 2 CPU cores
        (``bench/conf/train/swinir-cpu.yaml``); deepinv's default model
        (11.5 M parameters) takes about 37 s per 256x256 image on 2 cores.
        ``gpu``: embedding 96, four groups of six layers.
    """

    name = "swinir"
    references = (SWINIR_REFERENCE,)

    @staticmethod
    def build_network(settings: Mapping[str, Any]) -> nn.Module:
        from deepinv.models import SwinIR

        return SwinIR(in_chans=1, upscale=1, upsampler="", resi_connection="1conv", pretrained=None, **settings)
