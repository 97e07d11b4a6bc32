#!/usr/bin/env python3
"""The share of an image's spectral energy at high frequencies, per image.

    /usr/bin/python3 scripts/high_frequency_energy.py IMAGE...

For each image (RGB, 0..1): each channel less its mean, its 2-D FFT power
|F(u, v)|^2 summed over the three channels; prints the share of that power
at radial frequencies above 1/4 cycle per pixel (half of Nyquist) and the
mean absolute difference between neighbouring pixels (both directions).
White noise has 0.80 of its power above 1/4 cycle per pixel, a photograph
a few percent. Used for the regularizer comparison in README.md.
"""
import sys

import numpy as np
from PIL import Image


def measure(path):
    x = np.asarray(Image.open(path).convert("RGB"), dtype=np.float64) / 255
    h, w, _ = x.shape
    fy = np.fft.fftfreq(h)[:, None]
    fx = np.fft.fftfreq(w)[None, :]
    high = np.hypot(fy, fx) > 0.25
    power = sum(np.abs(np.fft.fft2(x[:, :, c] - x[:, :, c].mean())) ** 2 for c in range(3))
    share = power[high].sum() / power.sum()
    neighbour = (np.abs(np.diff(x, axis=0)).mean() + np.abs(np.diff(x, axis=1)).mean()) / 2
    return share, neighbour


def main():
    for path in sys.argv[1:]:
        share, neighbour = measure(path)
        print(f"{path}: {share:.3f} of the power above 1/4 cycle/pixel, "
              f"mean |neighbour difference| {neighbour:.3f}")


if __name__ == "__main__":
    main()
