#!/usr/bin/python3
"""The seam of a texture tile, per axis: mean |difference| across the wrap
seam (the last column against the first for the vertical seam, the last row
against the first for the horizontal one: where a 2x2 tiling joins) against
that axis's interior lines: their mean, standard deviation and max, the
seam's z = (seam - mean) / std, and the band ratio (the 5 lines within 2
pixels of the seam over the interior mean; 1 = as anywhere). An axis is
seamless, as tests/test_texture.c asserts, when seam <= max, |z| <= 3 and the
band ratio is within [0.75, 1.33]. Optionally writes the 2x2 tiling.

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
    for axis, name in ((1, "vertical"), (0, "horizontal")):  # columns' lines, then rows'
        d = lines(a, axis)
        n = len(d)
        seam, interior = d[n - 1], d[: n - 1]
        z = (seam - interior.mean()) / interior.std()
        band = np.mean([d[k % n] for k in range(n - 3, n + 2)]) / interior.mean()
        ok = seam <= interior.max() and abs(z) <= 3 and 0.75 <= band <= 1.33
        print(f"{name} seam {seam:.4f}; interior lines mean {interior.mean():.4f}, "
              f"std {interior.std():.4f}, max {interior.max():.4f}; z {z:+.2f}; "
              f"band ratio {band:.3f}: {'seamless' if ok else 'not seamless'}")
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
