"""The live latent pad (st.components.v2, inline HTML/CSS/JS, no network fetches, no CDN).

A square of the latent plane with a draggable point: the test set's latent means behind it on
the decoder and compare pages, the decoded manifold (and optionally the means) on the manifold
page. While the point moves, the browser decodes E[x|z] itself - a plain-JS forward pass of the
decoder's MLP on Float32Arrays, one decode per animation frame - and paints it beside the pad; no
server round trip per frame. A click is a drag of length zero: the digit is painted in the next
frame. On release (or after arrow keys) the chosen z is committed to Python with setStateValue,
so the page, its sliders and the URL follow. With `hover`, the digit also follows the mouse
while it merely hovers (the committed point stays where it is).

The plane's geometry (`Plane`): the square [lo, hi]^2 in plot coordinates (vae.figures.to_plot):
z itself for linear spacing, the prior's CDF Phi(z) for Gaussian-quantile spacing, so a
Gaussian-spaced manifold (equal prior mass per cell) maps pixels to z exactly as its cells do.

Data flow (Python -> JS, the component's `data`; every value a plain scalar or string: Streamlit
probes lists and dicts for dataframes, which imports pandas and pyarrow, 70 MB, into the server):
  model, bg, overlay  content ids (sha256) of the decoder export and of the pictures
  decoder             vae.export.decoder_export(model) as compact JSON text (~5 MB, shipped model),
  background,         PNG data URIs - each sent only while the browser has not confirmed it holds
  overlay_image       it: the JS parses each once, caches it in window.__latentPadCache by id and
                      reports `have` = "<model>|<bg>[|<overlay>]" back; later reruns send ids only
  have                what Python believes the browser holds (echo of the state below)
  z1, z2              the point to show (the page's truth: its sliders, or the map's selection)
  spacing, lo, hi     the plane (above); ticks: comma-separated z values labelled on the axes
  size, title, legend, dark, pixelated, hover    presentation
  unset               no z chosen yet (z1, z2 are then the plane's centre): no marker is drawn
  label               the digit class a conditional VAE's decoder gets (null for a plain VAE)
  ack                 the seq of the last commit Python has applied: the JS ignores an older z that
                      arrives after a newer commit (no jump back while a rerun is in flight)
State (JS -> Python): z = {"z": [z1, z2], "seq": n} on each commit; have = "<model>|<bg>...".

A measurement hook for tests and benchmarks lives at window.__latentPad:
  ready, model (the decoder's sha256), z (shown now), committed (last z sent to Python),
  label, decode(z1, z2[, label]) -> Array(P) of E[x|z], frames (decoded frames painted), decodeMs (per-frame
  decode times, the last 5000), shownAt (performance.now() of the last animation frame that
  put the current z's digit on the canvas, or found it there already), drags ([{ms,
  frames, moves}] per finished drag: its length, decoded frames painted, pointermove events
  received), parses (decoder exports parsed in this window: stays 1 across reruns with the same
  model).
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import streamlit as st

from vae.export import decoder_export
from vae.figures import Z_TICKS, from_plot, plot_extent
from vae.latent import Spacing
from vae.render import DIGIT_COLORS, png_bytes

from .models import ModelHandle, manifold, scatter_background, scatter_overlay

PAD_PX = 320  # the pad's CSS size on the decoder and compare pages
MAP_PX = 560  # on the manifold page: a 20 x 20 manifold at one screen pixel per pixel
DIGIT_PX = 224  # the decoded digit's CSS size (28 x 8)
KEY_STEP = 0.05  # one arrow key press (the sliders' step); Shift: 10x


@dataclass(frozen=True)
class Plane:
    """The square of the latent plane a pad shows: [lo, hi]^2 in plot coordinates (z for
    linear spacing, Phi(z) for Gaussian quantiles), and the z values labelled on its axes."""

    spacing: Spacing = "linear"
    lo: float = -4.0
    hi: float = 4.0
    ticks: tuple[float, ...] = (-4.0, -2.0, 0.0, 2.0, 4.0)

    @staticmethod
    def square(extent: float) -> Plane:
        """[-extent, extent]^2 in z units."""
        step = 1.0 if extent <= 3 else 2.0
        ticks = tuple(float(t) for t in np.arange(-math.floor(extent / step), math.floor(extent / step) + 1) * step)
        return Plane("linear", -float(extent), float(extent), ticks)

    @staticmethod
    def of_manifold(n: int, spacing: Spacing, radius: float) -> Plane:
        """Exactly the area of an n x n manifold (vae.latent.decode_grid): cell edges included."""
        lo, hi = plot_extent(spacing, radius, n)
        z_lo, z_hi = (float(v) for v in from_plot(np.array([lo, hi]), spacing))
        step = 1.0 if z_hi - z_lo <= 8 else 2.0
        # Gaussian: Phi(3) sits a hair from Phi(2) at the edge; label the central ones only.
        ticks = Z_TICKS[np.abs(Z_TICKS) <= 2] if spacing == "gaussian" else np.arange(-10, 11) * step
        return Plane(spacing, float(lo), float(hi), tuple(float(t) for t in ticks if z_lo <= t <= z_hi))

    @property
    def z_range(self) -> tuple[float, float]:
        """The smallest and largest z (either axis) inside the square."""
        z = from_plot(np.array([self.lo, self.hi]), self.spacing)  # clipped into (0, 1) if Gaussian
        return float(z[0]), float(z[1])

    def clamp(self, z: tuple[float, float] | None) -> tuple[float, float] | None:
        """z moved into the square (a choice made on a larger map stays on this one's edge)."""
        if z is None:
            return None
        lo, hi = self.z_range
        return (round(min(max(float(z[0]), lo), hi), 2), round(min(max(float(z[1]), lo), hi), 2))


_LEGEND = "".join(
    f'<span class="chip"><i style="background:{color}"></i>{digit}</span>'
    for digit, color in enumerate(DIGIT_COLORS)
)

_HTML = f"""
<div class="lp" data-testid="latent-pad-root">
  <div class="col">
    <div class="head"><b class="title">Latent plane</b></div>
    <div class="frame">
      <div class="yaxis"><span class="name">z₂</span></div>
      <div class="pad" tabindex="0" role="application" aria-roledescription="latent pad"
           data-testid="latent-pad"
           aria-label="Latent pad. Click or drag the point, or use the arrow keys (Shift for larger steps), to choose z.">
        <img class="bg" alt="" draggable="false">
        <img class="ov" alt="" draggable="false">
        <div class="gx"></div><div class="gy"></div>
        <div class="ghost"></div>
        <div class="dot"></div>
        <div class="loading">loading the decoder…</div>
      </div>
    </div>
    <div class="xaxis"><span class="name">z₁</span></div>
    <div class="legend" aria-hidden="true">{_LEGEND}</div>
  </div>
  <div class="col out">
    <div class="head"><b>E[x|z]</b> · live, in your browser</div>
    <canvas class="digit" width="28" height="28" data-testid="latent-pad-digit"
            role="img" aria-label="Decoded digit E[x|z]"></canvas>
    <div class="readout" aria-live="polite"><span class="which">z</span> = <b class="zt">(…)</b></div>
    <div class="meta ms">&nbsp;</div>
  </div>
</div>
"""

_CSS = f"""
.lp {{ --pad: {PAD_PX}px; display: flex; flex-wrap: wrap; gap: 16px 22px; align-items: flex-start;
       font-family: var(--st-font, sans-serif); color: var(--st-text-color, #31333f); }}
.col {{ display: flex; flex-direction: column; }}
.head {{ font-size: 14px; margin: 0 0 8px 26px; color: var(--st-gray-color, #808495); white-space: nowrap; }}
.head b {{ font-weight: 600; color: var(--st-text-color, #31333f); }}
.out .head {{ margin-left: 0; }}
.frame {{ display: flex; align-items: stretch; gap: 4px; }}
.yaxis, .xaxis {{ position: relative; font-size: 12px; color: var(--st-gray-color, #808495);
                  font-variant-numeric: tabular-nums; }}
.yaxis {{ width: 22px; height: var(--pad); }}
.xaxis {{ height: 18px; margin: 3px 0 0 26px; width: var(--pad); }}
.tick {{ position: absolute; white-space: nowrap; }}
.yaxis .tick {{ right: 2px; transform: translateY(-50%); }}
.xaxis .tick {{ top: 0; transform: translateX(-50%); }}
.name {{ position: absolute; font-style: italic; font-size: 13px; color: var(--st-text-color, #31333f); }}
.yaxis .name {{ left: 0; top: -22px; }}
.xaxis .name {{ right: -20px; top: 0; }}
.pad {{ position: relative; width: var(--pad); height: var(--pad); border-radius: 8px; overflow: hidden;
        border: 1px solid var(--st-border-color, #d6d6d9); background: #fff; cursor: crosshair;
        touch-action: none; user-select: none; -webkit-user-select: none; outline: none; }}
.lp.dark .pad {{ background: #000; }}
.pad:focus-visible {{ box-shadow: 0 0 0 3px color-mix(in srgb, var(--st-primary-color, #ff4b4b) 40%, transparent); }}
.pad.dragging {{ cursor: grabbing; }}
.bg, .ov {{ position: absolute; inset: 0; width: 100%; height: 100%; pointer-events: none; }}
.bg {{ opacity: .9; }}
.lp.pixelated .bg {{ image-rendering: pixelated; opacity: 1; }}
.ov:not([src]), .bg:not([src]) {{ display: none; }}
.gx, .gy {{ position: absolute; pointer-events: none; background: rgba(0,0,0,.25); will-change: transform; }}
.lp.dark .gx, .lp.dark .gy {{ background: rgba(255,255,255,.35); }}
.gx {{ left: 0; right: 0; height: 1px; top: 0; }}
.gy {{ top: 0; bottom: 0; width: 1px; left: 0; }}
.dot, .ghost {{ position: absolute; left: 0; top: 0; border-radius: 50%; pointer-events: none;
        will-change: transform; box-sizing: border-box; }}
.dot {{ width: 18px; height: 18px; margin: -9px 0 0 -9px;
        background: var(--st-primary-color, #ff4b4b); border: 3px solid #fff;
        box-shadow: 0 0 0 1px rgba(0,0,0,.45), 0 2px 6px rgba(0,0,0,.35); }}
.ghost {{ width: 16px; height: 16px; margin: -8px 0 0 -8px; border: 2px solid #ff2d95;
          box-shadow: 0 0 0 1px rgba(255,255,255,.7); display: none; }}
.lp.hovering .ghost {{ display: block; }}
.lp.unset .dot, .lp.unset .gx, .lp.unset .gy {{ display: none; }}
.pad.dragging .dot {{ width: 22px; height: 22px; margin: -11px 0 0 -11px; }}
.loading {{ position: absolute; inset: auto 0 8px 0; text-align: center; font-size: 12px; color: #666; }}
.lp.dark .loading {{ color: #ccc; }}
.lp.ready .loading {{ display: none; }}
.legend {{ display: flex; flex-wrap: wrap; gap: 2px 10px; margin: 6px 0 0 26px; width: var(--pad);
           font-size: 12px; color: var(--st-gray-color, #808495); }}
.lp:not(.legend-on) .legend {{ display: none; }}
.chip {{ display: inline-flex; align-items: center; gap: 4px; }}
.chip i {{ display: inline-block; width: 8px; height: 8px; border-radius: 50%; }}
.out {{ flex: 1 1 150px; min-width: 150px; max-width: {DIGIT_PX}px; }}
.digit {{ width: 100%; height: auto; aspect-ratio: 1; image-rendering: pixelated; background: #000;
          border-radius: 8px; display: block; }}
.readout {{ margin-top: 10px; font-size: 15px; font-variant-numeric: tabular-nums; white-space: nowrap; }}
.lp.hovering .readout .which {{ color: #ff2d95; }}
.meta {{ margin-top: 2px; font-size: 12.5px; color: var(--st-gray-color, #808495); font-variant-numeric: tabular-nums; }}
"""

_JS = """
const FORMAT = 'latent-explorer-decoder';
const MAX_CACHED = 8;
const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const CACHE = (globalThis.__latentPadCache ||= { decoders: new Map(), backgrounds: new Map() });
const HOOK = (globalThis.__latentPad ||= {
  ready: false, model: null, z: null, frames: 0, decodeMs: [], drags: [], shownAt: 0,
  decode() { throw new Error('latent pad: no decoder loaded'); },
});

function remember(map, id, value) {
  map.set(id, value);
  while (map.size > MAX_CACHED) map.delete(map.keys().next().value);
  return value;
}

// base64 of float32 little-endian -> Float32Array.
function floats(b64) {
  let bytes;
  if (typeof Uint8Array.fromBase64 === 'function') bytes = Uint8Array.fromBase64(b64);
  else {
    const bin = atob(b64);
    bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
  }
  if (bytes.length % 4) throw new Error('latent pad: weight bytes are not float32');
  if (LITTLE) return new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
  const view = new DataView(bytes.buffer, bytes.byteOffset), out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

// The decoder export (vae/export.py) -> an MLP that maps z to E[x|z] (Float32Array of P pixels).
function makeDecoder(spec) {
  if (!spec || spec.format !== FORMAT || spec.version !== 1) throw new Error('latent pad: unknown decoder format');
  const act = spec.activation;
  if (!['elu', 'relu', 'tanh'].includes(act) || spec.output !== 'sigmoid') throw new Error('latent pad: unsupported decoder');
  const layers = spec.layers.map((l) => {
    const W = floats(l.weight), b = floats(l.bias);  // W: [out, in] row-major, b: [out]
    if (W.length !== l.in * l.out || b.length !== l.out) throw new Error('latent pad: layer size mismatch');
    return { nIn: l.in, nOut: l.out, W, b, y: new Float64Array(l.out) };
  });
  // Input: z [D], then for a conditional VAE one_hot(label) [C] (vae/export.py).
  const D = spec.latent_dim, C = spec.num_classes || 0, P = layers[layers.length - 1].nOut;
  if (layers[0].nIn !== D + C) throw new Error('latent pad: decoder input size mismatch');
  const x = new Float64Array(D + C), image = new Float32Array(P);
  function forward(z1, z2, label) {
    x.fill(0); x[0] = z1; if (D > 1) x[1] = z2;
    if (C) x[D + (Number.isInteger(label) && label >= 0 && label < C ? label : 0)] = 1;
    let h = x;
    for (let li = 0; li < layers.length; li++) {
      const { nIn, nOut, W, b, y } = layers[li];
      const last = li === layers.length - 1;
      for (let o = 0; o < nOut; o++) {
        // Four accumulators: independent chains the CPU can overlap.
        let s0 = 0, s1 = 0, s2 = 0, s3 = 0, i = 0, k = o * nIn;
        for (; i + 3 < nIn; i += 4, k += 4) {
          s0 += W[k] * h[i]; s1 += W[k + 1] * h[i + 1]; s2 += W[k + 2] * h[i + 2]; s3 += W[k + 3] * h[i + 3];
        }
        for (; i < nIn; i++, k++) s0 += W[k] * h[i];
        let s = b[o] + ((s0 + s1) + (s2 + s3));
        if (!last) s = act === 'elu' ? (s > 0 ? s : Math.expm1(s)) : act === 'relu' ? (s > 0 ? s : 0) : Math.tanh(s);
        y[o] = s;
      }
      h = y;
    }
    for (let p = 0; p < P; p++) image[p] = 1 / (1 + Math.exp(-h[p]));
    return image;
  }
  return { forward, P, C, side: spec.image_shape[spec.image_shape.length - 1] };
}


const fmt = (v) => (v < 0 ? '-' : '+') + Math.abs(v).toFixed(2);  // as Python's f"{v:+.2f}"
const round2 = (v) => Math.round(v * 100) / 100;

// The standard normal CDF and its inverse, for Gaussian-quantile planes (plot coordinate
// u = Phi(z)). erfc: Numerical Recipes' erfcc (|error| < 1.2e-7); Phi^-1: Acklam's rational
// approximation (relative error < 1.2e-9). Both far below one pixel of the pad.
function erfc(x) {
  const z = Math.abs(x), t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}
const ndtr = (z) => 0.5 * erfc(-z / Math.SQRT2);
function ndtri(p) {
  const a = [-3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02, 1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00];
  const b = [-5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02, 6.680131188771972e+01, -1.328068155288572e+01];
  const c = [-7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00, -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00];
  const d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00];
  const lo = 0.02425;
  if (p < lo) {
    const q = Math.sqrt(-2 * Math.log(p));
    return (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5]) / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1);
  }
  if (p > 1 - lo) return -ndtri(1 - p);
  const q = p - 0.5, r = q * q;
  return (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1);
}

// A plane: the square [lo, hi]^2 of plot coordinates; frac in [0, 1] along an axis <-> z.
function makePlane(data) {
  const gaussian = data.spacing === 'gaussian';
  let lo = Number(data.lo), hi = Number(data.hi);
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo)) { lo = -4; hi = 4; }
  // A Gaussian manifold's outer half cells reach past u = 0 and 1 (as in vae.figures): the
  // square keeps them, and u is clipped only when turned into z (as vae.figures.from_plot does).
  const toU = gaussian ? ndtr : (z) => z;
  const fromU = gaussian ? (u) => ndtri(Math.max(1e-6, Math.min(1 - 1e-6, u))) : (u) => u;
  const plane = {
    key: `${data.spacing}|${lo}|${hi}|${data.ticks}`,
    frac: (z) => (toU(z) - lo) / (hi - lo),
    z: (f) => fromU(lo + Math.max(0, Math.min(1, f)) * (hi - lo)),
  };
  plane.min = plane.z(0); plane.max = plane.z(1);
  plane.clamp = (v) => Math.max(plane.min, Math.min(plane.max, v));
  plane.ticks = String(data.ticks || '').split(',').map(Number).filter((t) => Number.isFinite(t) && t >= plane.min && t <= plane.max);
  return plane;
}

function createPad(root) {
  const pad = root.querySelector('.pad'), dot = root.querySelector('.dot'), ghost = root.querySelector('.ghost');
  const gx = root.querySelector('.gx'), gy = root.querySelector('.gy');
  const img = root.querySelector('.bg'), ov = root.querySelector('.ov'), canvas = root.querySelector('canvas.digit');
  const ctx = canvas.getContext('2d');
  const zText = root.querySelector('.zt'), which = root.querySelector('.which'), msText = root.querySelector('.ms');
  const st = {
    setStateValue: null, data: null, decoder: null, label: null, plane: makePlane({}), hover: false,
    z: [0, 0], hoverZ: null, painted: null, dragging: false, dragStart: 0, dragFrames: 0, dragMoves: 0,
    lastSeq: 0, committedAt: 0, raf: 0, keyTimer: 0, imageData: null, msShown: 0, recent: [],
  };

  // The pad's picture area (inside its 1px border, as the pictures and the dot are placed),
  // read once per drag: reading it on every move would force a style and layout pass of the
  // whole page per event (costly on a busy CPU).
  let rect = null;
  function area() {
    const r = pad.getBoundingClientRect();
    return { left: r.left + pad.clientLeft, top: r.top + pad.clientTop, width: pad.clientWidth, height: pad.clientHeight };
  }
  function zFromEvent(e) {
    const r = rect || area();
    const fx = (e.clientX - r.left) / r.width, fy = (e.clientY - r.top) / r.height;
    return [st.plane.z(fx), st.plane.z(1 - fy)];
  }

  function drawAxes() {
    const plane = st.plane;
    for (const [axis, vertical] of [[root.querySelector('.xaxis'), false], [root.querySelector('.yaxis'), true]]) {
      axis.querySelectorAll('.tick').forEach((el) => el.remove());
      for (const t of plane.ticks) {
        const el = document.createElement('span');
        el.className = 'tick';
        el.textContent = (t < 0 ? '−' : '') + String(+Math.abs(t).toFixed(2));
        const f = plane.frac(t);
        if (vertical) el.style.top = `${(1 - f) * 100}%`; else el.style.left = `${f * 100}%`;
        axis.appendChild(el);
      }
    }
  }

  function place(el, z, w, h) {
    el.style.transform = `translate(${st.plane.frac(z[0]) * w}px, ${(1 - st.plane.frac(z[1])) * h}px)`;
  }

  function paint() {
    st.raf = 0;
    const w = pad.clientWidth, h = pad.clientHeight;
    place(dot, st.z, w, h);
    gx.style.transform = `translateY(${(1 - st.plane.frac(st.z[1])) * h}px)`;
    gy.style.transform = `translateX(${st.plane.frac(st.z[0]) * w}px)`;
    const hovering = st.hoverZ !== null && !st.dragging;
    root.classList.toggle('hovering', hovering);
    if (hovering) place(ghost, st.hoverZ, w, h);
    const [z1, z2] = hovering ? st.hoverZ : st.z;  // the digit shows the hovered z, if any
    which.textContent = hovering ? 'hover z' : 'z';
    zText.textContent = `(${fmt(z1)}, ${fmt(z2)})`;
    if (!st.decoder) return;
    const last = st.painted;
    if (last && last[0] === z1 && last[1] === z2 && last[2] === st.decoder && last[3] === st.label) {
      HOOK.shownAt = performance.now();  // already on the canvas (a hover painted it)
      return;
    }
    const t0 = performance.now();
    const x = st.decoder.forward(z1, z2, st.label);
    const ms = performance.now() - t0;
    const side = st.decoder.side;
    if (!st.imageData || st.imageData.width !== side) {
      canvas.width = side; canvas.height = side;
      st.imageData = ctx.createImageData(side, side);
    }
    const px = st.imageData.data;
    for (let p = 0; p < side * side; p++) {
      const v = Math.round(Math.min(1, Math.max(0, x[p])) * 255);
      px[4 * p] = v; px[4 * p + 1] = v; px[4 * p + 2] = v; px[4 * p + 3] = 255;
    }
    ctx.putImageData(st.imageData, 0, 0);
    st.painted = [z1, z2, st.decoder, st.label];
    HOOK.frames += 1;
    HOOK.shownAt = performance.now();
    HOOK.decodeMs.push(ms);
    if (HOOK.decodeMs.length > 5000) HOOK.decodeMs.splice(0, HOOK.decodeMs.length - 5000);
    HOOK.z = [z1, z2];
    if (st.dragging) st.dragFrames += 1;
    const now = performance.now();
    st.recent.push(ms); if (st.recent.length > 31) st.recent.shift();
    if (now - st.msShown > 250) {  // the median of the last frames, refreshed 4 times a second
      st.msShown = now;
      const sorted = [...st.recent].sort((p, q) => p - q);
      msText.textContent = `${sorted[sorted.length >> 1].toFixed(1)} ms per decode`;
    }
  }
  const schedule = () => { if (!st.raf) st.raf = requestAnimationFrame(paint); };

  function commit() {
    if (!st.setStateValue) return;
    st.lastSeq = Math.max(Date.now(), st.lastSeq + 1);
    st.committedAt = performance.now();
    HOOK.committed = [round2(st.z[0]), round2(st.z[1])];
    st.setStateValue('z', { z: HOOK.committed, seq: st.lastSeq });
  }

  function down(e) {
    if (e.button !== 0) return;
    e.preventDefault();  // no text selection or image drag; focus still moves to the pad
    pad.focus({ preventScroll: true, focusVisible: false });
    pad.setPointerCapture(e.pointerId);
    st.dragging = true; st.dragStart = performance.now(); st.dragFrames = 0; st.dragMoves = 0;
    rect = area();
    pad.classList.add('dragging');
    root.classList.remove('unset');
    st.z = zFromEvent(e); schedule();
  }
  function move(e) {
    if (!st.dragging) {
      if (st.hover && e.pointerType === 'mouse') { st.hoverZ = zFromEvent(e); schedule(); }
      return;
    }
    st.dragMoves += 1;
    st.z = zFromEvent(e); schedule();
  }
  function leave() {
    if (st.hoverZ !== null) { st.hoverZ = null; schedule(); }
  }
  function up(e) {
    if (!st.dragging) return;
    st.dragging = false;
    pad.classList.remove('dragging');
    if (e.type === 'pointerup') st.z = zFromEvent(e);
    st.hoverZ = st.hover && e.type === 'pointerup' && e.pointerType === 'mouse' ? st.z : null;
    rect = null;
    if (st.raf) { cancelAnimationFrame(st.raf); }
    paint();
    HOOK.drags.push({ ms: performance.now() - st.dragStart, frames: st.dragFrames, moves: st.dragMoves });
    if (HOOK.drags.length > 1000) HOOK.drags.shift();
    commit();
  }
  function key(e) {
    const step = (e.shiftKey ? 10 : 1) * __KEY_STEP__;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    let next;
    if (moves[e.key]) next = [st.z[0] + moves[e.key][0], st.z[1] + moves[e.key][1]];
    else if (e.key === 'Home') next = [0, 0];
    else return;
    e.preventDefault();
    st.hoverZ = null;
    root.classList.remove('unset');
    // A commit is pending from now on: a rerun that arrives before it (the previous commit's)
    // must not put the server's older z back (see `stale` in update).
    st.lastSeq = Math.max(Date.now(), st.lastSeq + 1);
    st.committedAt = performance.now();
    st.z = [st.plane.clamp(round2(next[0])), st.plane.clamp(round2(next[1]))];
    schedule();
    clearTimeout(st.keyTimer);
    st.keyTimer = setTimeout(commit, 180);  // one commit per burst of key presses
  }
  const listeners = [['pointerdown', down], ['pointermove', move], ['pointerup', up],
                     ['pointercancel', up], ['pointerleave', leave], ['keydown', key]];
  for (const [type, handler] of listeners) pad.addEventListener(type, handler);
  const resize = new ResizeObserver(schedule);  // keep the dot in place if the pad is resized
  resize.observe(pad);

  // A picture by content id: from the data the first time (then cached), from the cache after.
  function picture(id, uri) {
    if (!id) return null;
    if (uri && !CACHE.backgrounds.has(id)) remember(CACHE.backgrounds, id, uri);
    return CACHE.backgrounds.get(id) || null;
  }

  function update(data) {
    st.data = data;
    const size = Number(data.size) >= 120 ? Number(data.size) : 320;
    root.style.setProperty('--pad', `${size}px`);
    root.querySelector('.title').textContent = String(data.title || 'Latent plane');
    root.classList.toggle('dark', !!data.dark);
    root.classList.toggle('pixelated', !!data.pixelated);
    root.classList.toggle('legend-on', !!data.legend);
    // No point chosen yet (the map before its first click): no marker, until one is chosen here.
    root.classList.toggle('unset', !!data.unset && st.lastSeq === 0);
    st.hover = !!data.hover;
    if (!st.hover) st.hoverZ = null;
    const plane = makePlane(data);
    if (plane.key !== st.plane.key) { st.plane = plane; drawAxes(); }
    let parsed = false;
    try {
      if (data.decoder && !CACHE.decoders.has(data.model)) {
        const spec = typeof data.decoder === 'string' ? JSON.parse(data.decoder) : data.decoder;
        const fresh = remember(CACHE.decoders, data.model, makeDecoder(spec));
        for (let i = 0; i < 12; i++) fresh.forward(Math.sin(i) * 3, Math.cos(i) * 3, 0);  // warm the JIT
        parsed = true;
      }
    } catch (err) {
      console.error(err);
      root.querySelector('.loading').textContent = String(err.message || err);
      return;
    }
    const background = picture(data.bg, data.background), overlay = picture(data.overlay, data.overlay_image);
    if (background && img.getAttribute('src') !== background) img.src = background;
    if (overlay) { if (ov.getAttribute('src') !== overlay) ov.src = overlay; } else ov.removeAttribute('src');
    const decoder = CACHE.decoders.get(data.model);
    st.decoder = decoder || null;
    st.label = Number.isInteger(data.label) ? data.label : null;
    root.classList.toggle('ready', !!decoder);
    // Tell Python what we hold (it then stops sending it), or ask again if the cache lost it.
    const have = decoder && background && (overlay || !data.overlay)
      ? [data.model, data.bg, data.overlay].filter(Boolean).join('|') : '';
    if (st.setStateValue && data.have !== have) st.setStateValue('have', have);
    if (decoder) {
      HOOK.ready = true; HOOK.model = data.model;
      HOOK.label = st.label;
      HOOK.decode = (z1, z2, label = st.label) => Array.from(decoder.forward(Number(z1), Number(z2), label));
      if (parsed) HOOK.parses = (HOOK.parses || 0) + 1;
    }
    // The server's z is taken unless the user is dragging, or it predates our latest commit
    // (a rerun still in flight; after 3 s the server wins whatever it acknowledged).
    const z = [Number(data.z1), Number(data.z2)];
    const stale = Number(data.ack || 0) < st.lastSeq && performance.now() - st.committedAt < 3000;
    if (!st.dragging && !stale && z.every(Number.isFinite)) st.z = [st.plane.clamp(z[0]), st.plane.clamp(z[1])];
    schedule();
  }

  function destroy() {
    for (const [type, handler] of listeners) pad.removeEventListener(type, handler);
    resize.disconnect();
    if (st.raf) cancelAnimationFrame(st.raf);
    clearTimeout(st.keyTimer);
  }
  return { st, update, destroy };
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const root = parentElement.querySelector('.lp');
  if (!root) return;
  // Streamlit calls this again whenever `data` changes, on the same DOM, and only runs the
  // latest cleanup on unmount: keep one instance per root and just feed it new data.
  let pad = root.__latentPad;
  if (!pad) { pad = createPad(root); root.__latentPad = pad; }
  pad.st.setStateValue = setStateValue;
  pad.update(data || {});
  return () => {
    // Also called at once for a superseded call: tear down only when really unmounted.
    setTimeout(() => {
      if (!root.isConnected && root.__latentPad === pad) { pad.destroy(); root.__latentPad = null; }
    }, 0);
  };
}
""".replace("__KEY_STEP__", repr(KEY_STEP))

_component = st.components.v2.component("latent_explorer.latent_pad", html=_HTML, css=_CSS, js=_JS)


@st.cache_resource(show_spinner=False, max_entries=4)
def _decoder_export(key: str, _handle: ModelHandle) -> tuple[dict[str, Any], str]:
    """(the export's summary fields, the export as JSON text): shared by all sessions, read-only;
    ValueError if the model is not exportable."""
    export = decoder_export(_handle.model)
    summary = {k: v for k, v in export.items() if k != "layers"}
    return summary, json.dumps(export, separators=(",", ":"))


def _picture_uri(raw: bytes) -> tuple[str, str]:
    """(content id, data URI) of PNG bytes."""
    return hashlib.sha256(raw).hexdigest(), "data:image/png;base64," + base64.b64encode(raw).decode("ascii")


def _png(picture) -> bytes:  # noqa: ANN001 - PIL.Image
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


@st.cache_resource(show_spinner=False, max_entries=8)
def _scatter_uri(key: str, _handle: ModelHandle, extent: float, size: int) -> tuple[str, str]:
    """The latent scatter filling [-extent, extent]^2, `size` pixels square."""
    return _picture_uri(_png(scatter_background(_handle, extent, size)))


@st.cache_resource(show_spinner=False, max_entries=16)
def _manifold_uri(key: str, _handle: ModelHandle, n: int, spacing: Spacing, radius: float,
                  label: int | None) -> tuple[str, str]:
    """The decoded manifold at its own resolution (n*28 pixels; the browser scales it crisply)."""
    return _picture_uri(png_bytes(manifold(_handle, n, spacing, radius, label).image))


@st.cache_resource(show_spinner=False, max_entries=8)
def _overlay_uri(key: str, _handle: ModelHandle, n_points: int, plane: Plane, size: int) -> tuple[str, str]:
    return _picture_uri(_png(scatter_overlay(_handle, n_points, plane.spacing, (plane.lo, plane.hi), size)))


def decoder_summary(handle: ModelHandle) -> str | None:
    """One sentence on what the browser runs for this model (None if it cannot run it)."""
    try:
        export, _ = _decoder_export(handle.key, handle)
    except ValueError:
        return None
    sizes = " → ".join(str(n) for n in export["sizes"])
    if export["num_classes"]:
        sizes = f"{export['latent_dim']} (z) + {export['num_classes']} (one-hot label) → " + sizes.split(" → ", 1)[1]
    activation = {"elu": "ELU", "relu": "ReLU", "tanh": "tanh"}[export["activation"]]
    return (f"The decoder is an MLP, {sizes}, with {activation} between layers and a "
            f"sigmoid at the end: {export['params']:,} float32 numbers ({4 * export['params'] / 1e6:.1f} MB), "
            "sent to this browser once per model and cached there.")


def _parse_commit(value: object, plane: Plane) -> tuple[tuple[float, float], int] | None:
    """The browser's committed {"z": [z1, z2], "seq": n} -> ((z1, z2) clipped to the plane, seq),
    or None."""
    if not isinstance(value, dict):
        return None
    z, seq = value.get("z"), value.get("seq", 0)
    if not isinstance(z, (list, tuple)) or len(z) != 2:
        return None
    try:
        z1, z2, n = float(z[0]), float(z[1]), int(seq)
    except (TypeError, ValueError):
        return None
    if not (math.isfinite(z1) and math.isfinite(z2)):
        return None
    lo, hi = plane.z_range
    return (min(max(z1, lo), hi), min(max(z2, lo), hi)), n


def _state(key: str) -> dict[str, Any]:
    try:
        value = st.session_state[key]
    except KeyError:
        return {}
    return dict(value) if isinstance(value, dict) else {}


def _pad(
    handle: ModelHandle,
    z: tuple[float, float] | None,
    key: str,
    plane: Plane,
    background: tuple[str, str],
    on_commit: Callable[[tuple[float, float]], None] | None,
    label: int | None,
    overlay: tuple[str, str] | None = None,
    **look: Any,
) -> tuple[float, float] | None:
    """The component with the given pictures ((id, data URI) each); see latent_pad."""
    if handle.model.config.latent_dim != 2:
        st.error("The latent pad needs a model with a 2-D latent space.")
        return None
    try:
        export, export_json = _decoder_export(handle.key, handle)
    except ValueError as exc:
        st.error(f"This model cannot be decoded in the browser: {exc}")
        return None
    model_id = export["sha256"]
    state = _state(key)
    have = state.get("have") if isinstance(state.get("have"), str) else ""
    held = set(have.split("|")) if have else set()
    committed = _parse_commit(state.get("z"), plane)
    unset = z is None
    if z is None:  # no point chosen yet: the digit shows the plane's centre, no marker is drawn
        middle = float(from_plot(np.array((plane.lo + plane.hi) / 2), plane.spacing))
        z = (middle, middle)
    bg_id, bg_uri = background
    overlay_id, overlay_uri = overlay or ("", None)
    data = {
        "model": model_id,
        "bg": bg_id,
        "overlay": overlay_id,
        "have": have,
        "z1": float(z[0]),
        "z2": float(z[1]),
        "spacing": plane.spacing,
        "lo": plane.lo,
        "hi": plane.hi,
        "ticks": ",".join(f"{t:g}" for t in plane.ticks),
        "label": (int(label or 0) if handle.conditional else None),
        "ack": committed[1] if committed else 0,
        "unset": unset,
        "decoder": None if model_id in held else export_json,
        "background": None if bg_id in held else bg_uri,
        "overlay_image": None if not overlay_id or overlay_id in held else overlay_uri,
        **look,
    }

    def _committed() -> None:
        parsed = _parse_commit(_state(key).get("z"), plane)
        if parsed is not None and on_commit is not None:
            on_commit(parsed[0])

    result = _component(
        key=key,
        data=data,
        default={"z": None, "have": ""},
        on_z_change=_committed,
        on_have_change=lambda: None,
        height="content",
    )
    parsed = _parse_commit(getattr(result, "z", None), plane)
    return parsed[0] if parsed else None


def latent_pad(
    handle: ModelHandle,
    z: tuple[float, float],
    key: str,
    extent: float = 4.0,
    on_commit: Callable[[tuple[float, float]], None] | None = None,
    label: int | None = None,
) -> tuple[float, float] | None:
    """Show the pad over the test-set latent means in [-extent, extent]^2 at `z`; returns the z
    last committed in the browser (None before any).

    `label`: the digit class fed to a conditional VAE's decoder (0 if not given); ignored for
    a plain VAE.

    `on_commit(z)` runs as a widget callback, before the rerun that a commit causes: the place to
    copy z into other widgets' session_state keys (sliders), which a page may not do after those
    widgets exist. Shows an st.error instead of the pad for a model the browser cannot decode.
    """
    plane = Plane.square(extent)
    return _pad(handle, z, key, plane, _scatter_uri(handle.key, handle, float(extent), 2 * PAD_PX),
                on_commit, label, size=PAD_PX, title="Latent plane · test-set means by digit",
                legend=True, dark=False, pixelated=False, hover=False)


def latent_map(
    handle: ModelHandle,
    z: tuple[float, float] | None,
    key: str,
    n: int,
    spacing: Spacing,
    radius: float,
    label: int | None = None,
    n_points: int = 0,
    on_commit: Callable[[tuple[float, float]], None] | None = None,
) -> tuple[float, float] | None:
    """The manifold page's map: the decoded n x n manifold as the pad's plane (and the first
    n_points test-set latent means over it), hover to preview a z, click or drag to choose one.
    Same contract as latent_pad; z None: no choice yet (no marker; the digit shows the centre)."""
    plane = Plane.of_manifold(n, spacing, radius)
    overlay = _overlay_uri(handle.key, handle, n_points, plane, 2 * MAP_PX) if n_points else None
    return _pad(handle, z, key, plane, _manifold_uri(handle.key, handle, n, spacing, radius, label),
                on_commit, label, overlay=overlay, size=MAP_PX,
                title=f"Manifold E[x|z], {n}×{n}" + (" · test-set means" if n_points else ""),
                legend=bool(n_points), dark=True, hover=True,
                # Crisp pixels when the picture is enlarged; smooth when it is shrunk (n > 20).
                pixelated=n * handle.ckpt.config.image_shape[-1] <= MAP_PX)
