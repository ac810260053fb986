"""What the pages draw on the latent plane, as layers (vae/plane.py): the data's latent means
and the decoded manifold (every explorer: the app's pages through ui/layers.py, the static site
of vae/site.py), the joint log p(x, z) over the prior's bulk, the true posterior p(z|x) beside
q(z|x), and prior samples over the aggregate posterior. Pure: arrays in, layers out."""

from __future__ import annotations

import numpy as np

from .latent import Manifold, ellipse
from .plane import Layer, Plane, density_picture, digit_points, markers, picture, plot_extent, polyline
from .quadrature import PosteriorGrid
from .render import png_bytes

MEANS = "test-set means"

Q_COLOR = "#00e5ff"  # q(z|x): ellipses and its mean
MAP_COLOR = "#ff2d95"  # z_MAP of p(z|x); samples in holes
PRIOR_COLOR = "#ff7f0e"  # the sampling distribution's circles


def means_layer(mu: np.ndarray, labels: np.ndarray, n_points: int = 10_000, visible: bool = True) -> Layer:
    """The first n_points latent means mu [N, 2] (of the test set), coloured by digit labels [N]
    (a legend entry each)."""
    return digit_points(MEANS, mu[:n_points], labels[:n_points], visible=visible)


def manifold_layer(grid: Manifold, size: int, legend: bool = False) -> Layer:
    """A decoded manifold (vae.latent.decode_grid) at its own resolution (n*28 pixels) filling
    its plane (Plane.of_manifold): crisp pixels when the browser enlarges it to `size` CSS
    pixels, smooth when it shrinks it (n*28 > size). legend: a chip that hides it."""
    lo, hi = plot_extent(grid.spacing, grid.radius, grid.n)
    crisp = grid.image.shape[-1] <= size
    return picture(f"manifold {grid.n}×{grid.n}", png_bytes(grid.image), (lo, hi, lo, hi), pixelated=crisp,
                   legend=legend)


def _q_layers(mu: np.ndarray, logvar: np.ndarray) -> list[Layer]:
    return [polyline("q(z|x) 1σ", ellipse(mu, logvar, 1.0), Q_COLOR, closed=True),
            polyline("q(z|x) 2σ", ellipse(mu, logvar, 2.0), Q_COLOR, dash=True, closed=True)]


def _points_of_interest(post: PosteriorGrid) -> list[Layer]:
    return [markers("μ of q(z|x)", post.mu, Q_COLOR, symbol="x", size=12),
            markers("z_MAP of p(z|x)", post.z_map, MAP_COLOR, symbol="star", size=16)]


def _box(x0: float, x1: float, y0: float, y1: float) -> np.ndarray:
    return np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1]])


def log_joint_layers(post: PosteriorGrid, span: float = 150.0) -> tuple[Plane, list[Layer]]:
    """log p(x, z) = log p(x|z) + log p(z) over the level-0 grid (the prior's bulk), the finely
    resolved raster around the posterior on top, one colour scale clipped `span` nats below the
    maximum; mu and z_MAP marked."""
    top = float(max(post.view_log_joint.max(), post.coarse_log_joint.max()))
    axis = post.coarse_axis
    r = float(axis[-1] + (axis[1] - axis[0]) / 2)
    x0, x1, y0, y1 = post.view_extent
    layers = [
        density_picture("log p(x, z)", post.coarse_log_joint, (-r, r, -r, r), "viridis", top - span, top,
                        "log p(x, z), nats"),
        density_picture("refined around p(z|x)", post.view_log_joint, post.view_extent, "viridis",
                        top - span, top, "log p(x, z), nats"),
        polyline("refined area", _box(x0, x1, y0, y1), "#ffffff", width=1, dash=True, closed=True),
        *_points_of_interest(post),
    ]
    return Plane.square(r), layers


def posterior_layers(post: PosteriorGrid) -> tuple[Plane, list[Layer], tuple[float, float, float, float]]:
    """The true posterior p(z|x) (density on the refined raster) with q(z|x)'s 1 and 2 sigma
    ellipses: where they differ is the ELBO's gap. Opens zoomed on the raster (it covers the
    posterior's mass and q's 2-sigma box)."""
    axis = post.coarse_axis
    plane = Plane.square(float(axis[-1] + (axis[1] - axis[0]) / 2))
    density = post.view_posterior
    x0, x1, y0, y1 = post.view_extent
    layers = [density_picture("p(z|x)", density, post.view_extent, "inferno", 0.0, float(density.max()),
                              "p(z|x), density"),
              *_q_layers(post.mu, post.logvar), *_points_of_interest(post)]
    return plane, layers, plane.view_around((x0, y0), (x1, y1), margin=0.0, min_side=0.004)


def prior_circles(temperature: float = 1.0) -> list[Layer]:
    """The 1σ and 2σ circles of N(0, T²I): the prior p(z) itself at T = 1."""
    logvar = np.full(2, 2 * np.log(max(temperature, 1e-6)))
    return [polyline(f"N(0, {temperature:.1f}²I) {k}σ", ellipse(np.zeros(2), logvar, float(k)), PRIOR_COLOR,
                     dash=k == 2, closed=True) for k in (1, 2)]


def prior_samples_layers(samples: np.ndarray, density_axis: np.ndarray, density: np.ndarray,
                         in_hole: np.ndarray, temperature: float, data: Layer | None = None,
                         radius: float = 4.0) -> tuple[Plane, list[Layer]]:
    """Prior samples z [S, 2] (numbered, those in holes in pink; beyond the edge drawn on it)
    over the aggregate posterior q(z) (density [n, n] on density_axis, rows z2, as log10), the
    sampling distribution N(0, T^2 I)'s 1 and 2 sigma circles, and optionally the data's means."""
    step = float(density_axis[1] - density_axis[0])
    lo, hi = float(density_axis[0] - step / 2), float(density_axis[-1] + step / 2)
    log_q = np.log10(np.maximum(np.asarray(density, np.float64), 1e-12))
    hole = np.asarray(in_hole, bool)
    numbers = [str(i + 1) for i in range(len(samples))]
    layers = [
        # Greys: white where the data never goes, dark where it is dense.
        density_picture("q(z), the data's density", log_q, (lo, hi, lo, hi), "greys", -4.0, float(log_q.max()),
                        "log₁₀ q(z)", legend=True),
        *([data] if data is not None else []),
        *prior_circles(temperature),
    ]
    # Numbered as in the grid of decoded samples; one beyond the plane is drawn on its edge.
    for name, mask, color in (("sample", ~hole, "#111111"), ("sample in a hole", hole, MAP_COLOR)):
        if mask.any():
            layers.append(markers(name, samples[mask], color, symbol="x", size=9, clamp=True,
                                  texts=[n for n, m in zip(numbers, mask) if m]))
    return Plane.square(radius), layers
