#!/usr/bin/python3
"""The seam of a texture tile: mean |difference| across the wrap seam (the
last column against the first, the last row against the first: where a 2x2
tiling joins) against every interior line, and the band ratio (the 5 lines
within 2 pixels of the seam over the interior mean; 1 = as anywhere) that
tests/test_texture.c asserts. Optionally writes the 2x2 tiling.

    /usr/bin/python3 scripts/texture_seams.py TILE.png [TILED_2x2.jpg]
"""
import sys

import numpy as np
from PIL import Image


def lines(a, axis):
    """Mean |a[k+1] - a[k]| across each line k along axis, k = n-1 wrapping."""
    d = np.abs(np.roll(a, -1, axis=axis) - a)
    other = tuple(i for i in range(3) if i != axis)
    return d.mean(axis=other)


def main():
    a = np.asarray(Image.open(sys.argv[1]).convert("RGB"), dtype=np.float64) / 255.0
    seams, interior, band = [], [], []
    for axis in (1, 0):  # vertical lines (columns), then horizontal ones
        d = lines(a, axis)
        n = len(d)
        seams.append(d[n - 1])
        interior.extend(d[: n - 1])
        band.extend(d[k % n] for k in range(n - 3, n + 2))
    interior = np.array(interior)
    print(f"wrap seam {np.mean(seams):.4f}; interior lines mean {interior.mean():.4f}, "
          f"max {interior.max():.4f}; band ratio {np.mean(band) / interior.mean():.3f}; "
          f"seam <= max interior: {np.mean(seams) <= interior.max()}")
    if len(sys.argv) > 2:
        h, w, _ = a.shape
        tiled = Image.new("RGB", (2 * w, 2 * h))
        tile = Image.open(sys.argv[1]).convert("RGB")
        for y in (0, h):
            for x in (0, w):
                tiled.paste(tile, (x, y))
        tiled.save(sys.argv[2], quality=90)


if __name__ == "__main__":
    main()
