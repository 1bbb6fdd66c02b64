"""Neural ISP network: RAW mosaic + noise sigma -> full-resolution linear camera RGB.

Architecture (same for every design; sized for CPUs, in the spirit of the paper's section 3)
------------------------------------------------------------------------------------------
* **Demosaicing front-end.** At full resolution the RAW is split by the CFA into three
  colour-masked planes plus the three masks, the noise sigma map (scaled by ``SIGMA_SCALE``) and the
  hex-aware bilinear demosaic of the RAW (the same normalised tent as
  ``engine.isp.traditional.bilinear_demosaic``, in torch): 10 channels, pixel-unshuffled by 2 (the
  OCL period) to 40 channels at half resolution.
* **Body.** A 3x3 head conv to ``channels``, then ``blocks`` residual blocks. Each block: RepConv
  (dilation d1) -> LeakyReLU -> RepConv (dilation d2), gated by *high-frequency attention*
  ``sigmoid(conv1x1(y - avgpool3(y)))`` (the gate looks at the block's detail, not its mean), added
  to the block input. Growing then shrinking dilations give a wide receptive field cheaply.
* **Tail.** RepConv to 12 channels, pixel shuffle by 2 -> 3 channels, added to the bilinear
  demosaic skip: the network learns the residual (deblur, denoise, de-alias) over bilinear.
* **RepVGG reparameterisation.** In training every RepConv is a 3x3 conv + a 1x1 conv (+ identity
  when in == out channels); :meth:`NeuralISP.fold` merges them into one plain 3x3 conv (exact: the
  1x1 and identity are the centre tap, whatever the dilation), so inference runs plain convs.

Receptive field and cost are computed by :func:`receptive_field_px` and :func:`macs_per_megapixel`
(and checked empirically in tests/test_neural.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from engine.isp.pipelines import check_precision
from engine.sensor.cfa import CFA_BLOCK_PX as CFA_BLOCK
from engine.sensor.cfa import CFA_PERIOD_PX as CFA_PERIOD

SIGMA_SCALE = 30.0
"""The sigma map is multiplied by this (sigma ~ 0.018 at 35 dB and signal 1 -> ~0.5)."""


def native_bf16() -> bool:
    """Whether this CPU computes bfloat16 convolutions natively (AVX512-BF16 or AMX); elsewhere they are
    emulated and slower than fp32."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):
        return False


@dataclass(frozen=True)
class ModelConfig:
    """Architecture hyper-parameters (stored in the weights manifest)."""

    channels: int = 40
    dilations: tuple = ((1, 1), (1, 2), (2, 4), (4, 8), (2, 4), (1, 2), (1, 1))
    cfa: str = "hex"
    in_features: int = 10  # R,G,B masked raw + 3 masks + sigma + 3 bilinear
    negative_slope: float = 0.1
    cond_features: int = 0
    """Extra per-pixel conditioning planes of the universal net (engine.isp.neural.universal:
    Wiener-deconvolved RGB + system-MTF descriptor); 0 for a per-design net. With them, ``cfa``
    is only the default layout: the forward pass takes the layout of each batch."""
    multiframe: bool = False
    """A burst net (:class:`MultiFrameISP`): the same network with per-frame heads fused after
    alignment; False for a single-frame net."""

    def to_dict(self) -> dict:
        d = asdict(self)
        d["dilations"] = [list(p) for p in self.dilations]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        d = dict(d)
        d["dilations"] = tuple(tuple(p) for p in d["dilations"])
        return cls(**d)


# --- fixed front-end: CFA masks and bilinear demosaic ----------------------------------------------


def cfa_masks(layout: str, h: int, w: int, device=None) -> torch.Tensor:
    """(1, 3, h, w) float one-hot colour masks, R block at (0, 0) (engine.sensor.cfa_pattern)."""
    block = CFA_BLOCK[layout]
    by = (torch.arange(h, device=device) // block) % 2
    bx = (torch.arange(w, device=device) // block) % 2
    idx = by[:, None] + bx[None, :]
    return torch.stack([(idx == c).float() for c in range(3)])[None]


def _tent_filter(x: torch.Tensor, half_width: int) -> torch.Tensor:
    """Correlation of (B, C, H, W) with the separable tent ``half_width - |d|`` (|d| < half_width)
    along rows and columns, mirror boundary (scipy 'mirror' = torch 'reflect'). Shift-and-add: on
    CPU this is ~8x faster than depthwise convolutions for these short kernels."""
    r = half_width - 1
    h, w = x.shape[-2:]
    y = F.pad(x, (r, r, r, r), mode="reflect")
    taps = [float(half_width - abs(k - r)) for k in range(2 * r + 1)]
    rows = sum(t * y[..., k:k + h, :] for k, t in enumerate(taps))
    return sum(t * rows[..., k:k + w] for k, t in enumerate(taps))


def demosaic_weights(masks: torch.Tensor, layout: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
    """Per-shape constants of :func:`bilinear_demosaic_torch`: (den, holes, wide_den) (cacheable)."""
    block = CFA_BLOCK[layout]
    den = _tent_filter(masks, max(2, block // 2 + 1))
    holes = den == 0
    wide_den = _tent_filter(masks, 2 * block + 1) if bool(holes.any()) else None
    return den, holes, wide_den


def bilinear_demosaic_torch(raw: torch.Tensor, masks: torch.Tensor, layout: str, weights=None) -> torch.Tensor:
    """engine.isp.traditional.bilinear_demosaic in torch: (B, 1, H, W) raw -> (B, 3, H, W).

    Normalised tent convolution per colour (half-width ``max(2, block // 2 + 1)``, 3 for hex), the
    wide tent (``2 * block + 1``) where no same-colour sample is in reach, measured samples kept.
    weights: :func:`demosaic_weights` of ``masks`` (computed when None).
    """
    block = CFA_BLOCK[layout]
    den, holes, wide_den = weights if weights is not None else demosaic_weights(masks, layout)
    b = raw.shape[0]
    m = masks.expand(b, -1, -1, -1)
    values = raw * m
    num = _tent_filter(values, max(2, block // 2 + 1))
    if wide_den is not None:
        num = torch.where(holes, _tent_filter(values, 2 * block + 1), num)
        den = torch.where(holes, wide_den, den)
    return torch.where(m > 0, raw.expand_as(m), num / den)


# --- reparameterisable conv -------------------------------------------------------------------------


class RepConv(nn.Module):
    """3x3 (dilated) conv + 1x1 conv + identity (in == out) in training; one 3x3 conv once folded."""

    def __init__(self, cin: int, cout: int, dilation: int = 1):
        super().__init__()
        self.cin, self.cout, self.dilation = cin, cout, dilation
        self.conv3 = nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation, bias=True)
        self.conv1 = nn.Conv2d(cin, cout, 1, bias=False)
        self.identity = cin == cout
        self.folded = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv3(x)
        if self.folded:
            return y
        y = y + self.conv1(x)
        return y + x if self.identity else y

    @torch.no_grad()
    def fold(self) -> None:
        """Merge the 1x1 and identity branches into the 3x3 kernel's centre tap; drop them."""
        if self.folded:
            return
        w = self.conv3.weight.clone()
        w[:, :, 1, 1] += self.conv1.weight[:, :, 0, 0]
        if self.identity:
            w[:, :, 1, 1] += torch.eye(self.cout, dtype=w.dtype, device=w.device)
        self.conv3.weight.copy_(w)
        del self.conv1
        self.folded = True


class HFAttention(nn.Module):
    """High-frequency attention gate: sigmoid(conv1x1(y - avgpool3x3(y)))."""

    def __init__(self, channels: int):
        super().__init__()
        self.proj = nn.Conv2d(channels, channels, 1)
        nn.init.zeros_(self.proj.weight)
        nn.init.constant_(self.proj.bias, 1.0)

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        hf = y - F.avg_pool2d(y, 3, stride=1, padding=1, count_include_pad=False)
        return torch.sigmoid(self.proj(hf))


class ResBlock(nn.Module):
    def __init__(self, channels: int, d1: int, d2: int, slope: float):
        super().__init__()
        self.c1 = RepConv(channels, channels, d1)
        self.c2 = RepConv(channels, channels, d2)
        self.att = HFAttention(channels)
        self.slope = slope
        with torch.no_grad():  # start near identity: scale the residual branch down
            for m in (self.c2.conv3, self.c2.conv1):
                m.weight.mul_(0.1)
        self.c2.identity = False  # the block adds its input itself

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.c2(F.leaky_relu(self.c1(x), self.slope))
        return x + y * self.att(y)


class NeuralISP(nn.Module):
    """RAW (B, 1, H, W) + sigma (B, 1, H, W) -> linear camera RGB (B, 3, H, W); H, W multiples of 8,
    the crop starting on the CFA period."""

    def __init__(self, config: ModelConfig = ModelConfig()):
        super().__init__()
        self.config = config
        c = config.channels
        self.head = RepConv(4 * (config.in_features + config.cond_features), c)
        self.blocks = nn.ModuleList(ResBlock(c, d1, d2, config.negative_slope) for d1, d2 in config.dilations)
        self.tail = RepConv(c, 12)
        with torch.no_grad():
            for m in (self.tail.conv3, self.tail.conv1):
                m.weight.mul_(0.1)
            self.tail.conv3.bias.zero_()
        self._masks: dict = {}

    def masks(self, h: int, w: int, device, layout: str) -> tuple[torch.Tensor, tuple]:
        """CFA masks and demosaic normalisation for an (h, w) input, cached per layout for the last shape."""
        key = (h, w, str(device))
        if self._masks.get("key") != key:
            self._masks = {"key": key}
        if layout not in self._masks:
            masks = cfa_masks(layout, h, w, device)
            self._masks[layout] = (masks, demosaic_weights(masks, layout))
        return self._masks[layout]

    def front_end(self, raw: torch.Tensor, sigma: torch.Tensor, layout: str) -> tuple[torch.Tensor, list]:
        """(bilinear demosaic (B, 3, H, W), the input planes: masked raw, masks, scaled sigma, demosaic)
        of (B, 1, H, W) mosaics whose sides are multiples of the CFA period."""
        h, w = raw.shape[-2:]
        if h % CFA_PERIOD or w % CFA_PERIOD:
            raise ValueError(f"input must be a multiple of {CFA_PERIOD} px per side, got {h} x {w}")
        m, weights = self.masks(h, w, raw.device, layout)
        skip = bilinear_demosaic_torch(raw, m, layout, weights)
        return skip, [raw * m, m.expand(raw.shape[0], -1, -1, -1), sigma * SIGMA_SCALE, skip]

    def back_end(self, x: torch.Tensor, precision: str = "fp32") -> torch.Tensor:
        """Half-resolution head features -> the full-resolution residual over the bilinear demosaic;
        ``precision``: the blocks' arithmetic (engine.isp.pipelines.NEURAL_PRECISIONS)."""
        with torch.autocast(x.device.type, dtype=torch.bfloat16, enabled=check_precision(precision) == "bf16"):
            for block in self.blocks:
                x = block(x)  # float32 residual stream: x + bf16 branch promotes to float32
        return F.pixel_shuffle(self.tail(F.leaky_relu(x, self.config.negative_slope)), 2)

    def forward(self, raw: torch.Tensor, sigma: torch.Tensor, cond: torch.Tensor | None = None,
                layout: str | None = None, precision: str = "fp32") -> torch.Tensor:
        """raw, sigma: (B, 1, H, W); cond: (B, cond_features, H, W) for a conditioned net, else None;
        layout: the batch's CFA layout (default ``config.cfa``); precision: the body's arithmetic."""
        if (cond is None) != (self.config.cond_features == 0):
            raise ValueError(f"this net takes {self.config.cond_features} conditioning planes, got "
                             f"{'none' if cond is None else cond.shape[1]}")
        skip, planes = self.front_end(raw, sigma, layout or self.config.cfa)
        feats = torch.cat(planes if cond is None else planes + [cond], dim=1)
        return skip + self.back_end(self.head(F.pixel_unshuffle(feats, 2)), precision)

    def fold(self) -> "NeuralISP":
        """Reparameterise every RepConv into a plain 3x3 conv (in place); returns self."""
        for module in self.modules():
            if isinstance(module, RepConv):
                module.fold()
        return self

    @property
    def folded(self) -> bool:
        return all(m.folded for m in self.modules() if isinstance(m, RepConv))


def warp(x: torch.Tensor, shift_px: torch.Tensor, mode: str = "bilinear") -> torch.Tensor:
    """(N, C, H, W) images resampled so that ``out[y, x] = x[y - dy, x - dx]`` for ``shift_px`` (N, 2) =
    (dy, dx) in pixels of ``x``'s grid (border values repeated outside); frames with a zero shift are
    returned unchanged."""
    n, _, h, w = x.shape
    ys = torch.arange(h, dtype=x.dtype, device=x.device)[None, :, None] - shift_px[:, 0, None, None]
    xs = torch.arange(w, dtype=x.dtype, device=x.device)[None, None, :] - shift_px[:, 1, None, None]
    grid = torch.stack(torch.broadcast_tensors(2 * xs / max(w - 1, 1) - 1, 2 * ys / max(h - 1, 1) - 1), dim=-1)
    warped = F.grid_sample(x, grid, mode=mode, padding_mode="border", align_corners=True)
    still = (shift_px == 0).all(dim=1)
    return torch.where(still[:, None, None, None], x, warped)


class MultiFrameISP(nn.Module):
    """A burst (B, K, H, W) of RAW frames + their sigma maps + their shifts onto frame 0 -> linear
    camera RGB of frame 0 (B, 3, H, W); any K >= 1.

    The single-frame network (:class:`NeuralISP`, ``self.net``) with the fusion inside it: every frame
    goes through the front-end and the head conv on its own; the half-resolution head features and
    the bilinear demosaics are aligned to frame 0 (``shift_px / 2`` on the half-resolution grid,
    bilinear; bicubic at full resolution); a 1x1 ``fuse`` conv mixes the frames' mean, their maximum and
    the burst's effective noise (frame 0's sigma / sqrt(K)) into one feature map, which runs through
    the body and the tail; the output adds the residual to the mean aligned demosaic. ``fuse`` starts
    as "take the mean", so a net warm-started from single-frame weights equals that net on one frame.
    """

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        self.net = NeuralISP(config)
        c = config.channels
        self.fuse = nn.Conv2d(2 * c + 1, c, 1)
        with torch.no_grad():
            self.fuse.weight.zero_()
            self.fuse.weight[:, :c, 0, 0] = torch.eye(c)
            self.fuse.bias.zero_()

    def forward(self, raw: torch.Tensor, sigma: torch.Tensor, shift_px: torch.Tensor,
                layout: str | None = None, precision: str = "fp32") -> torch.Tensor:
        """raw, sigma: (B, K, H, W); shift_px: (B, K, 2) (dy, dx) pixels moving each frame onto frame 0
        (engine.isp.traditional.phase_correlation_shift's convention); layout: the CFA layout;
        precision: the body's arithmetic (engine.isp.pipelines.NEURAL_PRECISIONS)."""
        b, k, h, w = raw.shape
        net = self.net
        skip, planes = net.front_end(raw.reshape(b * k, 1, h, w), sigma.reshape(b * k, 1, h, w),
                                     layout or self.config.cfa)
        shifts = shift_px.reshape(b * k, 2).to(raw.dtype)
        # per-frame slices, reduced with elementwise ops: a reduction over the frame axis of a
        # channels-last tensor is strided and ~5x slower on CPU
        head = net.head(F.pixel_unshuffle(torch.cat(planes, dim=1), 2))
        feats = warp(head, shifts / 2).unflatten(0, (b, k)).unbind(dim=1)
        skip = sum(warp(skip, shifts, mode="bicubic").unflatten(0, (b, k)).unbind(dim=1)) / k
        noise = F.avg_pool2d(sigma[:, :1], 2) * (SIGMA_SCALE / k ** 0.5)
        strongest = feats[0]
        for frame in feats[1:]:
            strongest = torch.maximum(strongest, frame)
        return skip + net.back_end(self.fuse(torch.cat([sum(feats) / k, strongest, noise], dim=1)), precision)

    def fold(self) -> "MultiFrameISP":
        self.net.fold()
        return self

    @property
    def folded(self) -> bool:
        return self.net.folded


def build_model(config: ModelConfig | dict | None = None, *, folded: bool = False) -> NeuralISP | MultiFrameISP:
    """The network of ``config`` (a :class:`MultiFrameISP` when ``config.multiframe``)."""
    if isinstance(config, dict):
        config = ModelConfig.from_dict(config)
    config = config or ModelConfig()
    model = MultiFrameISP(config) if config.multiframe else NeuralISP(config)
    return model.fold() if folded else model


def param_count(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())


def receptive_field_px(config: ModelConfig = ModelConfig()) -> int:
    """Receptive field (pixels, full resolution, one side to the other) of one output pixel.

    Half-resolution stages: head 3x3 (+2), per block two dilated 3x3 (+2 d1 + 2 d2) and the 3x3
    average pool of the attention gate (+2), tail 3x3 (+2). Pixel unshuffle doubles it (a half-res
    sample spans 2 pixels); the bilinear skip inside the input features adds its tent (+4).
    """
    half = 1 + 2 + 2
    for d1, d2 in config.dilations:
        half += 2 * d1 + 2 * d2 + 2
    block = CFA_BLOCK[config.cfa]
    return 2 * half + 2 * (max(2, block // 2 + 1) - 1)


def macs_per_megapixel(config: ModelConfig = ModelConfig(), frames: int = 1) -> float:
    """Multiply-accumulates per output megapixel of the folded network (convs only; the fixed
    demosaic front-end adds ~0.1 kMAC/px per frame); a multi-frame net runs its head on each of
    ``frames`` frames and adds the 1x1 fusion."""
    c, fin = config.channels, 4 * (config.in_features + config.cond_features)
    per_half_px = fin * c * 9 * (frames if config.multiframe else 1)  # head(s)
    per_half_px += (2 * c + 1) * c if config.multiframe else 0  # fusion
    per_half_px += len(config.dilations) * (2 * c * c * 9 + c * c)  # two 3x3 + attention 1x1
    per_half_px += c * 12 * 9  # tail
    return per_half_px / 4 * 1e6
