"""Large depthwise kernels as sums of small ones, for runtimes that only run small ones fast.

XNNPACK (TFLite's CPU backend) has depthwise microkernels up to 25 taps (5x5). A bigger
depthwise kernel, such as the 7x7, 9x9 and 11x11 groups of MUXNet's mixed-kernel convolutions,
falls back to a generic grouped GEMM with one channel per group: 15 to 40 times slower per tap
on this project's machine (`keras-muxnet benchmark` shows the model-level effect). A convolution is
linear in its kernel, so a kh x kw kernel cut into rectangular tiles of at most 25 taps gives
the same output as the sum of the tiles' convolutions, each run on the window of the padded
input the tile sees. Only the order of the floating-point additions changes.
"""

import math

from keras_muxnet.layers import backend_ops

XNNPACK_MAX_DEPTHWISE_TAPS = 25


def _bands(length, size):
    """[(start, stop)] cutting range(length) into the fewest pieces of at most `size`, as even
    as possible (7 by 3 -> 3, 2, 2): no tile is much smaller than the others."""
    count = -(-length // size)
    bounds = [length * i // count for i in range(count + 1)]
    return [(bounds[i], bounds[i + 1]) for i in range(count)]


def kernel_tiles(kernel_height, kernel_width, max_taps=XNNPACK_MAX_DEPTHWISE_TAPS):
    """Rectangles (row0, row1, col0, col1) covering a kernel, each of at most `max_taps` taps.

    The fewest of two layouts: full-width row bands (7x7 -> 3 tiles, 11x11 -> 6) or a grid of
    squares (9x9 -> 4 tiles of at most 5x5). A kernel that fits is one tile.
    """
    if max_taps < 1:
        raise ValueError(f"max_taps must be at least 1, got {max_taps}")
    if kernel_height * kernel_width <= max_taps:
        return [(0, kernel_height, 0, kernel_width)]
    layouts = []
    rows_per_band = max_taps // kernel_width
    if rows_per_band:
        layouts.append([(r0, r1, 0, kernel_width)
                        for r0, r1 in _bands(kernel_height, rows_per_band)])
    side = math.isqrt(max_taps)
    layouts.append([(r0, r1, c0, c1) for r0, r1 in _bands(kernel_height, side)
                    for c0, c1 in _bands(kernel_width, side)])
    return min(layouts, key=len)


def _sees_data(start, taps, outputs, strides, pad, size):
    """Whether a tile's taps [start, start + taps) at any output position read an input row (or
    column) of the data, not only the zero padding around it."""
    return any(pad <= start + strides * i + t < pad + size
               for i in range(outputs) for t in range(taps))


def tiled_depthwise_conv2d(x, kernel, strides, pad, max_taps=XNNPACK_MAX_DEPTHWISE_TAPS):
    """Depthwise convolution of `x` zero-padded by `pad` on every side (then VALID), as a sum
    over kernel tiles.

    `kernel` is (kh, kw, C, 1). Each tile convolves the window of the padded input that its
    rows and columns of the kernel see, so every tile's output has the full output size. Tiles
    that only ever see padding add exact zeros and are left out; besides the saved work, an
    all-zero partial sum would get a degenerate int8 scale that XNNPACK refuses.
    """
    kh, kw = int(kernel.shape[0]), int(kernel.shape[1])
    height, width = x.shape[1], x.shape[2]
    if pad:
        x = backend_ops.pad_spatial(x, pad)
    tiles = kernel_tiles(kh, kw, max_taps)
    if len(tiles) == 1 or height is None or width is None:  # windows need a static size
        return backend_ops.depthwise_conv2d(x, kernel, strides, "VALID")
    out_h = (int(height) + 2 * pad - kh) // strides + 1
    out_w = (int(width) + 2 * pad - kw) // strides + 1
    total = None
    for r0, r1, c0, c1 in tiles:
        if not (_sees_data(r0, r1 - r0, out_h, strides, pad, int(height))
                and _sees_data(c0, c1 - c0, out_w, strides, pad, int(width))):
            continue
        window = x[:, r0:r0 + (out_h - 1) * strides + (r1 - r0),
                   c0:c0 + (out_w - 1) * strides + (c1 - c0), :]
        part = backend_ops.depthwise_conv2d(window, kernel[r0:r1, c0:c1], strides, "VALID")
        total = part if total is None else total + part
    return total
