r"""NAFNet: a nonlinear-activation-free U-Net trained to map degraded images to sharp ones (blind, no PSF)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from bench.methods._restoration import DirectRestoration

NAFNET_REFERENCE = (
    'L. Chen, X. Chu, X. Zhang and J. Sun, "Simple baselines for image restoration", '
    "European Conference on Computer Vision (ECCV), pp. 17-33, 2022."
)


class ChannelLayerNorm(nn.Module):
    """Layer normalisation over the channels of each pixel (NAFNet's LayerNorm2d)."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.permute(0, 2, 3, 1)).permute(0, 3, 1, 2)


def simple_gate(x: torch.Tensor) -> torch.Tensor:
    """NAFNet's replacement of the activation: split the channels in two halves and multiply them."""
    first, second = x.chunk(2, dim=1)
    return first * second


class BaselineBlock(nn.Module):
    r"""NAFNet's block: a gated depthwise-convolution branch with simplified channel attention, then a gated FFN.

    Both branches are residual with a learned per-channel scale that starts at
    zero, so a fresh block is the identity (what makes deep stacks trainable
    without normalisation tricks).
    """

    def __init__(self, channels: int, expansion: int = 2) -> None:
        super().__init__()
        hidden = expansion * channels
        self.spatial = nn.Sequential(
            ChannelLayerNorm(channels),
            nn.Conv2d(channels, hidden, 1),
            nn.Conv2d(hidden, hidden, 3, padding=1, groups=hidden),
        )
        # Simplified channel attention: global average pooling and a 1x1 convolution, no nonlinearity.
        self.attention = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Conv2d(hidden // 2, hidden // 2, 1))
        self.spatial_out = nn.Conv2d(hidden // 2, channels, 1)
        self.feedforward = nn.Sequential(ChannelLayerNorm(channels), nn.Conv2d(channels, hidden, 1))
        self.feedforward_out = nn.Conv2d(hidden // 2, channels, 1)
        self.spatial_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))
        self.feedforward_scale = nn.Parameter(torch.zeros(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        gated = simple_gate(self.spatial(x))
        x = x + self.spatial_scale * self.spatial_out(gated * self.attention(gated))
        return x + self.feedforward_scale * self.feedforward_out(simple_gate(self.feedforward(x)))


class NAFNet(nn.Module):
    """NAFNet's U-Net: stride-2 convolutions down, pixel shuffle up, additive skips, a global residual.

    Parameters
    ----------
    width : int
        Channels at full resolution, doubled at every downsampling.
    encoder_blocks : sequence of int
        Baseline blocks per encoder level (one downsampling each).
    middle_blocks : int
        Blocks at the coarsest level.
    decoder_blocks : sequence of int
        Blocks per decoder level, coarsest first; as many levels as the encoder.
    """

    def __init__(
        self, *, width: int, encoder_blocks: Sequence[int], middle_blocks: int, decoder_blocks: Sequence[int]
    ) -> None:
        super().__init__()
        if len(encoder_blocks) != len(decoder_blocks):
            raise ValueError(
                f"NAFNet needs as many decoder levels as encoder levels, got {list(encoder_blocks)} "
                f"and {list(decoder_blocks)}"
            )
        self.intro = nn.Conv2d(1, width, 3, padding=1)
        self.encoders, self.downs, self.ups, self.decoders = (nn.ModuleList() for _ in range(4))
        channels = width
        for count in encoder_blocks:
            self.encoders.append(nn.Sequential(*(BaselineBlock(channels) for _ in range(count))))
            self.downs.append(nn.Conv2d(channels, 2 * channels, 2, stride=2))
            channels *= 2
        self.middle = nn.Sequential(*(BaselineBlock(channels) for _ in range(middle_blocks)))
        for count in decoder_blocks:
            self.ups.append(nn.Sequential(nn.Conv2d(channels, 2 * channels, 1, bias=False), nn.PixelShuffle(2)))
            channels //= 2
            self.decoders.append(nn.Sequential(*(BaselineBlock(channels) for _ in range(count))))
        self.ending = nn.Conv2d(width, 1, 3, padding=1)
        self.multiple = 2 ** len(encoder_blocks)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        height, width = y.shape[-2:]
        # Reflect to a multiple of the total downsampling, crop back at the end.
        padded = F.pad(y, (0, -width % self.multiple, 0, -height % self.multiple), mode="reflect")
        x = self.intro(padded)
        skips = []
        for encoder, down in zip(self.encoders, self.downs):
            x = encoder(x)
            skips.append(x)
            x = down(x)
        x = self.middle(x)
        for decoder, up, skip in zip(self.decoders, self.ups, reversed(skips)):
            x = decoder(up(x) + skip)
        return (padded + self.ending(x))[..., :height, :width]


class Method(DirectRestoration):
    r"""NAFNet (Chen et al. 2022), trained by ``bench train nafnet`` on the Deep-Blur degradations.

    The comparison of Deep-Blur's Table 1 (NAFNet SSIM 0.66 / 0.43 / 0.33 from
    no noise to high noise): a restoration network that never models the PSF.
    Written in the project (deepinv has no NAFNet) from the paper: baseline
    blocks of layer norm, 1x1 and depthwise 3x3 convolutions, simple gates and
    simplified channel attention, in a U-Net of configurable width. Trained
    with :func:`~bench.methods._restoration.train_restoration` on the same
    synthetic degradations as ``deepblur`` (training images only); the
    per-image standardisation makes it exposure independent. No parameter is
    tuned on benchmark images.

    Parameters
    ----------
    preset : {"cpu", "gpu"}
        ``cpu``: width 16, blocks (1, 1, 1) / 1 / (1, 1, 1), trained on 2 CPU
        cores (``bench/conf/train/nafnet-cpu.yaml``); ``gpu``: the NAFNet
        paper's deblurring width 32 with (1, 1, 1, 28) / 1 / (1, 1, 1, 1) blocks.
    """

    name = "nafnet"
    references = (NAFNET_REFERENCE,)

    @staticmethod
    def build_network(settings: Mapping[str, Any]) -> nn.Module:
        return NAFNet(**settings)
