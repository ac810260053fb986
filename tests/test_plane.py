"""The latent plane's geometry and layers (vae/plane.py, vae/scenes.py), without Streamlit.
Expected values come from independent computations: math.erf for Phi, decoding the blobs and
pictures back, the manifold's own cell centres."""

from __future__ import annotations

import io
import math

import numpy as np
import pytest
from PIL import Image

from vae.latent import grid_axis
from vae.latent import main as latent_main
from vae.plane import (
    Plane, colorize, density_picture, digit_points, from_plot, markers, path, plot_extent, polyline, to_plot,
)


def _phi(z: float) -> float:
    return 0.5 * (1 + math.erf(z / math.sqrt(2)))


def test_plot_coordinates_are_phi_and_invert() -> None:
    z = np.array([[-2.5, 0.0], [0.3, 1.7]])
    np.testing.assert_allclose(to_plot(z, "gaussian"), np.vectorize(_phi)(z), atol=1e-12)
    for spacing in ("linear", "gaussian"):
        np.testing.assert_allclose(from_plot(to_plot(z, spacing), spacing), z, atol=1e-9)
    # Gaussian-quantile cells are evenly spaced in plot coordinates: the picture is uniform.
    u = to_plot(grid_axis(9, "gaussian"), "gaussian")
    np.testing.assert_allclose(np.diff(u), np.diff(u)[0], rtol=1e-6)


def test_a_manifold_plane_holds_exactly_its_cells() -> None:
    # Cell centres at +-3 on a 20 x 20 grid: the edges sit half a cell (3/19) further out.
    assert plot_extent("linear", 3.0, 20) == pytest.approx((-3 - 3 / 19, 3 + 3 / 19))
    linear = Plane.of_manifold(20, "linear", 3.0)
    assert linear.z_range == pytest.approx((-3 - 3 / 19, 3 + 3 / 19))
    assert linear.ticks == (-3.0, -2.0, -1.0, 0.0, 1.0, 2.0, 3.0)
    gaussian = Plane.of_manifold(20, "gaussian", 3.0)
    # Outer half cells reach past u = 0 and 1; z is clipped there as the browser does.
    assert gaussian.lo < 0 < 1 < gaussian.hi
    assert gaussian.z_range == pytest.approx((-4.753424, 4.753424), abs=1e-5)  # Phi^-1(1e-6)
    assert gaussian.ticks == (-2.0, -1.0, 0.0, 1.0, 2.0)
    assert linear.clamp((5.0, -0.123)) == (3.16, -0.12) and linear.clamp(None) is None
    assert Plane.square(4.0).ticks == (-4.0, -2.0, 0.0, 2.0, 4.0) and Plane.square(4.0).centre == (0.0, 0.0)


def test_view_around_a_small_box_is_a_square_inside_the_plane() -> None:
    plane = Plane.square(4.0)
    x0, x1, y0, y1 = plane.view_around((1.0, 1.9), (1.2, 2.0), margin=0.0)
    assert x1 - x0 == pytest.approx(y1 - y0) == pytest.approx(0.05 * 8)  # at least min_side of the plane
    assert x0 <= 1.0 and x1 >= 1.2 and y0 <= 1.9 and y1 >= 2.0
    # Near the edge the view moves inside the plane instead of hanging over it.
    x0, x1, y0, y1 = plane.view_around((3.8, -4.0), (4.0, -3.9), margin=0.5)
    assert x1 == pytest.approx(4.0) and y0 == pytest.approx(-4.0)
    # A box larger than the plane is the whole plane.
    assert plane.view_around((-9, -9), (9, 9)) == (-4.0, 4.0, -4.0, 4.0)


def test_points_travel_as_float32_pairs_and_a_group_byte() -> None:
    z = np.array([[0.5, -1.25], [3.0, 2.0], [-4.0, 0.0]])
    layer = digit_points("means", z, np.array([7, 0, 9]))
    assert layer.suffix == "bin" and len(layer.blob) == 9 * 3
    np.testing.assert_array_equal(np.frombuffer(layer.blob[:24], "<f4").reshape(-1, 2), z)
    assert list(layer.blob[24:]) == [7, 0, 9]
    assert layer.spec["groups"] == [str(d) for d in range(10)] and layer.spec["count"] == 3
    # The blob itself never travels in the data: only where it is published.
    published = []
    data = layer.to_data(lambda blob, suffix: published.append((blob, suffix)) or "/app/static/gen/x.bin")
    assert data["src"] == "/app/static/gen/x.bin" and published == [(layer.blob, "bin")] and "blob" not in data


def test_small_layers_carry_z_inline() -> None:
    ring = polyline("q 1σ", np.array([[0.0, 1.0], [1.0, 0.0]]), "#00f", closed=True)
    assert ring.to_data(lambda blob, suffix: "") == {"kind": "line", "name": "q 1σ", "xy": [0.0, 1.0, 1.0, 0.0], "color": "#00f",
                                   "width": 2.0, "dash": False, "closed": True, "legend": True, "visible": True}
    assert path("A to B", np.zeros((4, 2))).spec["ends"] == ["A", "B"]
    assert markers("μ", np.array([0.25, -0.5]), "#0ff", texts=["μ"]).spec["xy"] == [0.25, -0.5]


def test_colorize_interpolates_the_scale_and_clips() -> None:
    rgb = colorize(np.array([[0.0, 0.5, 1.0, 9.0, np.nan]]), "greys", 0.0, 1.0)[0]
    assert rgb[0].tolist() == [255, 255, 255] and rgb[2].tolist() == [0, 0, 0] and rgb[3].tolist() == [0, 0, 0]
    # Halfway along six stops is halfway between the third and fourth (#a3a3a3, #6e6e6e).
    assert rgb[1].tolist() == [round((0xA3 + 0x6E) / 2)] * 3
    assert rgb[4].tolist() == [255, 255, 255]  # NaN: the scale's first colour


def test_a_density_picture_has_high_z2_at_the_top() -> None:
    values = np.zeros((4, 3))
    values[-1] = 1.0  # the last row is the largest z2
    layer = density_picture("d", values, (0, 3, 0, 4), "greys", 0.0, 1.0, "title")
    picture = np.asarray(Image.open(io.BytesIO(layer.blob)))
    assert picture.shape == (4, 3, 3) and (picture[0] == 0).all() and (picture[1:] == 255).all()
    assert layer.spec["scale"]["colors"][0] == "#ffffff" and layer.spec["extent"] == [0, 3, 0, 4]


def test_manifold_png_cli(tmp_path) -> None:
    out = tmp_path / "m.png"
    assert latent_main(["checkpoints/mnist-2d", "--out", str(out), "--n", "4", "--spacing", "linear"]) == 0
    with Image.open(out) as img:
        assert img.size == (4 * 28, 4 * 28)
