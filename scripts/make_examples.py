#!/usr/bin/python3
"""Makes the example images in docs/examples/ procedurally, so the repository
needs no third-party pictures:

  content.jpg  a landscape: sky, sun, three mountain ridges with aerial
               perspective, a lake reflecting them, a tree, grass
  style.jpg    painterly swirls: white noise smeared along a field of vortices
               (line integral convolution) and coloured with a night-sky palette

Run with Debian's python3 (numpy and PIL): /usr/bin/python3 scripts/make_examples.py
Fixed seeds: the same files every time.
"""
import os

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "docs", "examples")


def ridge(rng, width, base, rough, octaves=7):
    """A 1-D fractal height profile (sum of random sines), `base` ± `rough` pixels."""
    x = np.arange(width) / width
    h = np.zeros(width)
    amp = 1.0
    for k in range(octaves):
        f = 2 ** k
        h += amp * np.sin(2 * np.pi * (f * x + rng.random())) * rng.uniform(0.5, 1.0)
        amp *= 0.55
    return base + rough * h / np.abs(h).max()


def content(width=640, height=480):
    rng = np.random.default_rng(7)
    horizon = int(height * 0.62)
    y = np.arange(height)[:, None, None] / height
    img = np.zeros((height, width, 3))

    # Sky: deep blue at the top, warm near the horizon.
    t = np.clip(y / (horizon / height), 0, 1) ** 1.6
    top, low = np.array([0.10, 0.20, 0.48]), np.array([0.98, 0.66, 0.40])
    img[:] = top * (1 - t) + low * t

    # Sun with a soft glow.
    yy, xx = np.mgrid[0:height, 0:width]
    sx, sy = width * 0.68, horizon - 70
    d = np.hypot(xx - sx, yy - sy)
    glow = np.exp(-(d / 90.0) ** 2)[..., None]
    img = img * (1 - 0.6 * glow) + np.array([1.0, 0.85, 0.55]) * 0.6 * glow
    img[d < 28] = [1.0, 0.95, 0.80]

    # Three ridges, farther ones lighter and bluer (aerial perspective).
    layers = [(horizon - 120, 45, [0.45, 0.42, 0.62]),
              (horizon - 70, 40, [0.30, 0.30, 0.45]),
              (horizon - 25, 30, [0.16, 0.22, 0.22])]
    for base, rough, colour in layers:
        h = ridge(rng, width, base, rough)
        mask = (yy >= h[None, :]) & (yy < horizon)
        shade = 0.93 + 0.07 * np.sin(xx / 5.0 + yy / 3.0 + 3 * np.sin(xx / 37.0))
        img[mask] = (np.array(colour)[None, :] * shade[mask][:, None])

    # Lake: the scene above mirrored, darkened, with horizontal ripples.
    lake_rows = height - horizon
    src = np.clip(2 * horizon - np.arange(horizon, height), 0, horizon - 1)
    for i, r in enumerate(range(horizon, height)):
        shift = int(3 * np.sin(i * 0.9) * (i / lake_rows))
        img[r] = np.roll(img[src[i]], shift, axis=0) * (0.72 - 0.25 * i / lake_rows)
    img[horizon:horizon + 2] *= 0.6

    pil = Image.fromarray((np.clip(img, 0, 1) * 255).astype(np.uint8))
    draw = ImageDraw.Draw(pil)

    # A tree on the left shore: recursive branches.
    def branch(x, y, angle, length, width_px, depth):
        if depth == 0 or length < 4:
            return
        x2 = x + length * np.cos(angle)
        y2 = y - length * np.sin(angle)
        draw.line([(x, y), (x2, y2)], fill=(28, 22, 18), width=max(1, int(width_px)))
        for da in (-0.45, 0.38):
            branch(x2, y2, angle + da + rng.uniform(-0.15, 0.15), length * rng.uniform(0.68, 0.8),
                   width_px * 0.7, depth - 1)

    branch(110, horizon + 30, np.pi / 2, 80, 11, 9)

    # Grassy foreground strip on the near shore.
    for _ in range(900):
        gx = rng.uniform(0, 240)
        gy = horizon + 30 + rng.uniform(-6, 8)
        draw.line([(gx, gy), (gx + rng.uniform(-4, 4), gy - rng.uniform(6, 18))],
                  fill=(int(rng.uniform(30, 60)), int(rng.uniform(60, 100)), 30), width=1)
    return pil.filter(ImageFilter.SMOOTH)


def style(width=512, height=512, steps=18):
    rng = np.random.default_rng(11)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float64)

    # Velocity field: a sum of vortices plus a gentle drift.
    vx = np.full_like(xx, 0.3)
    vy = np.full_like(xx, 0.05)
    for _ in range(9):
        cx, cy = rng.uniform(0, width), rng.uniform(0, height)
        strength = rng.uniform(40, 120) * rng.choice([-1, 1])
        dx, dy = xx - cx, yy - cy
        r2 = dx * dx + dy * dy + 400.0
        vx += -strength * dy / r2
        vy += strength * dx / r2
    norm = np.hypot(vx, vy) + 1e-9
    vx, vy = vx / norm, vy / norm

    # Line integral convolution of white noise along the field: brush strokes.
    noise = rng.random((height, width))
    noise = np.asarray(Image.fromarray((noise * 255).astype(np.uint8)).resize(
        (width // 2, height // 2), Image.NEAREST).resize((width, height), Image.NEAREST),
        dtype=np.float64) / 255
    acc = np.zeros_like(noise)
    for sign in (1, -1):
        px, py = xx.copy(), yy.copy()
        for k in range(steps):
            ix = np.clip(px.astype(int), 0, width - 1)
            iy = np.clip(py.astype(int), 0, height - 1)
            acc += noise[iy, ix] * (1 - k / steps)
            px += sign * vx[iy, ix]
            py += sign * vy[iy, ix]
    acc = (acc - acc.min()) / (acc.max() - acc.min())

    # Colour: a smooth field picks between night blues, teal and gold.
    tone = np.sin(xx / 70.0 + 2 * np.sin(yy / 90.0)) * 0.5 + 0.5
    palette = np.array([[0.05, 0.10, 0.35], [0.12, 0.35, 0.60], [0.25, 0.60, 0.65],
                        [0.95, 0.82, 0.30], [0.98, 0.95, 0.75]])
    pos = np.clip(tone * 0.6 + acc * 0.5, 0, 1) * (len(palette) - 1)
    lo = np.floor(pos).astype(int).clip(0, len(palette) - 2)
    f = (pos - lo)[..., None]
    rgb = palette[lo] * (1 - f) + palette[lo + 1] * f
    rgb *= (0.65 + 0.55 * acc)[..., None]
    return Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8))


if __name__ == "__main__":
    os.makedirs(OUT, exist_ok=True)
    content().save(os.path.join(OUT, "content.jpg"), quality=92)
    style().save(os.path.join(OUT, "style.jpg"), quality=92)
    print("wrote", os.path.join(OUT, "content.jpg"), "and style.jpg")
