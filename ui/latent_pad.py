"""The live latent pad (st.components.v2, inline HTML/CSS/JS, no network fetches, no CDN).

A square map of the latent plane (the test set's latent means as background) with a draggable
point. While the point moves, the browser decodes E[x|z] itself - a plain-JS forward pass of the
decoder's MLP on Float32Arrays, one decode per animation frame - and paints it beside the pad; no
server round trip per frame. On release (or after arrow keys) the chosen z is committed to Python
with setStateValue, so the page, its sliders and the URL follow.

Data flow (Python -> JS, the component's `data`):
  model, bg     content ids (sha256) of the decoder export and of the background picture
  decoder       vae.export.decoder_export(model) (~5 MB of base64 for the shipped model) and
  background    a PNG data URI - both sent only while the browser has not confirmed it holds
                them: the JS parses each once, caches it in window.__latentPadCache by id and
                reports `have` = "<model>|<bg>" back; later reruns send ids only
  have          what Python believes the browser holds (echo of the state below)
  z, extent     the point to show (the page's truth: its sliders) and the half-width of the map
  label         the digit class a conditional VAE's decoder gets (null for a plain VAE)
  ack           the seq of the last commit Python has applied: the JS ignores an older z that
                arrives after a newer commit (no jump back while a rerun is in flight)
State (JS -> Python): z = {"z": [z1, z2], "seq": n} on each commit; have = "<model>|<bg>".

A measurement hook for tests and benchmarks lives at window.__latentPad:
  ready, model (the decoder's sha256), z (shown now), committed (last z sent to Python),
  label, decode(z1, z2[, label]) -> Array(P) of E[x|z], frames (decoded frames painted), decodeMs (per-frame
  decode times, the last 5000), drags ([{ms, frames, moves}] per finished drag: its length,
  decoded frames painted, pointermove events received), parses (decoder
  exports parsed in this window: stays 1 across reruns with the same model).
"""

from __future__ import annotations

import base64
import hashlib
import io
import math
from collections.abc import Callable
from typing import Any

import streamlit as st

from vae.export import decoder_export
from vae.render import DIGIT_COLORS

from .models import ModelHandle, scatter_background

PAD_PX = 320  # the pad's CSS size
DIGIT_PX = 224  # the decoded digit's CSS size (28 x 8)
BACKGROUND_PX = 640  # the background picture's pixels (2x the pad, crisp on HiDPI screens)
KEY_STEP = 0.05  # one arrow key press (the sliders' step); Shift: 10x

_LEGEND = "".join(
    f'<span class="chip"><i style="background:{color}"></i>{digit}</span>'
    for digit, color in enumerate(DIGIT_COLORS)
)

_HTML = f"""
<div class="lp" data-testid="latent-pad-root">
  <div class="col">
    <div class="head"><b>Latent plane</b> · test-set means by digit</div>
    <div class="frame">
      <div class="ylab"><span class="hi">+4</span><span>z₂</span><span class="lo">−4</span></div>
      <div class="pad" tabindex="0" role="application" aria-roledescription="latent pad"
           data-testid="latent-pad"
           aria-label="Latent pad. Drag the point, or use the arrow keys (Shift for larger steps), to choose z.">
        <img class="bg" alt="" draggable="false">
        <div class="gx"></div><div class="gy"></div>
        <div class="dot"></div>
        <div class="loading">loading the decoder…</div>
      </div>
    </div>
    <div class="xlab"><span class="lo">−4</span><span>z₁</span><span class="hi">+4</span></div>
    <div class="legend" aria-hidden="true">{_LEGEND}</div>
  </div>
  <div class="col out">
    <div class="head"><b>E[x|z]</b> · live, in your browser</div>
    <canvas class="digit" width="28" height="28" data-testid="latent-pad-digit"
            role="img" aria-label="Decoded digit E[x|z]"></canvas>
    <div class="readout" aria-live="polite">z = <b class="zt">(…)</b></div>
    <div class="meta ms">&nbsp;</div>
  </div>
</div>
"""

_CSS = f"""
.lp {{ display: flex; flex-wrap: wrap; gap: 16px 22px; align-items: flex-start;
       font-family: var(--st-font, sans-serif); color: var(--st-text-color, #31333f); }}
.col {{ display: flex; flex-direction: column; }}
.head {{ font-size: 14px; margin: 0 0 8px 20px; color: var(--st-gray-color, #808495); white-space: nowrap; }}
.head b {{ font-weight: 600; color: var(--st-text-color, #31333f); }}
.out .head {{ margin-left: 0; }}
.frame {{ display: flex; align-items: stretch; gap: 6px; }}
.ylab {{ display: flex; flex-direction: column; justify-content: space-between; align-items: flex-end;
         font-size: 12px; color: var(--st-gray-color, #808495); min-width: 14px; }}
.ylab span:nth-child(2), .xlab span:nth-child(2) {{ font-style: italic; font-size: 13px;
         color: var(--st-text-color, #31333f); }}
.xlab {{ display: flex; justify-content: space-between; margin: 3px 0 0 20px; width: {PAD_PX}px;
         font-size: 12px; color: var(--st-gray-color, #808495); }}
.pad {{ position: relative; width: {PAD_PX}px; height: {PAD_PX}px; border-radius: 8px; overflow: hidden;
        border: 1px solid var(--st-border-color, #d6d6d9); background: #fff; cursor: crosshair;
        touch-action: none; user-select: none; -webkit-user-select: none; outline: none; }}
.pad:focus-visible {{ box-shadow: 0 0 0 3px color-mix(in srgb, var(--st-primary-color, #ff4b4b) 40%, transparent); }}
.pad.dragging {{ cursor: grabbing; }}
.bg {{ position: absolute; inset: 0; width: 100%; height: 100%; pointer-events: none; opacity: .9; }}
.gx, .gy {{ position: absolute; pointer-events: none; background: rgba(0,0,0,.25); will-change: transform; }}
.gx {{ left: 0; right: 0; height: 1px; top: 0; }}
.gy {{ top: 0; bottom: 0; width: 1px; left: 0; }}
.dot {{ position: absolute; left: 0; top: 0; width: 18px; height: 18px; margin: -9px 0 0 -9px;
        border-radius: 50%; background: var(--st-primary-color, #ff4b4b); border: 3px solid #fff;
        box-shadow: 0 0 0 1px rgba(0,0,0,.45), 0 2px 6px rgba(0,0,0,.35); pointer-events: none;
        will-change: transform; box-sizing: border-box; }}
.pad.dragging .dot {{ width: 22px; height: 22px; margin: -11px 0 0 -11px; }}
.loading {{ position: absolute; inset: auto 0 8px 0; text-align: center; font-size: 12px; color: #666; }}
.lp.ready .loading {{ display: none; }}
.legend {{ display: flex; flex-wrap: wrap; gap: 2px 10px; margin: 8px 0 0 20px; width: {PAD_PX}px;
           font-size: 12px; color: var(--st-gray-color, #808495); }}
.chip {{ display: inline-flex; align-items: center; gap: 4px; }}
.chip i {{ display: inline-block; width: 8px; height: 8px; border-radius: 50%; }}
.out {{ flex: 1 1 150px; min-width: 150px; max-width: {DIGIT_PX}px; }}
.digit {{ width: 100%; height: auto; aspect-ratio: 1; image-rendering: pixelated; background: #000;
          border-radius: 8px; display: block; }}
.readout {{ margin-top: 10px; font-size: 15px; font-variant-numeric: tabular-nums; white-space: nowrap; }}
.meta {{ margin-top: 2px; font-size: 12.5px; color: var(--st-gray-color, #808495); font-variant-numeric: tabular-nums; }}
"""

_JS = """
const FORMAT = 'latent-explorer-decoder';
const MAX_CACHED = 4;
const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;
const CACHE = (globalThis.__latentPadCache ||= { decoders: new Map(), backgrounds: new Map() });
const HOOK = (globalThis.__latentPad ||= {
  ready: false, model: null, z: null, frames: 0, decodeMs: [], drags: [],
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

function createPad(root) {
  const pad = root.querySelector('.pad'), dot = root.querySelector('.dot');
  const gx = root.querySelector('.gx'), gy = root.querySelector('.gy');
  const img = root.querySelector('.bg'), canvas = root.querySelector('canvas.digit');
  const ctx = canvas.getContext('2d');
  const zText = root.querySelector('.zt'), msText = root.querySelector('.ms');
  const st = {
    setStateValue: null, data: null, decoder: null, label: null, model: null, bg: null, extent: 4,
    z: [0, 0], painted: null, dragging: false, dragStart: 0, dragFrames: 0, dragMoves: 0,
    lastSeq: 0, committedAt: 0, raf: 0, keyTimer: 0, imageData: null, msShown: 0, recent: [],
  };

  const clamp = (v) => Math.max(-st.extent, Math.min(st.extent, v));
  // The pad's rectangle, read once per drag: reading it on every move would force a style and
  // layout pass of the whole page per event (costly on a busy CPU).
  let rect = null;
  function zFromEvent(e) {
    const r = rect || pad.getBoundingClientRect();
    const fx = (e.clientX - r.left) / r.width, fy = (e.clientY - r.top) / r.height;
    return [clamp((2 * fx - 1) * st.extent), clamp((1 - 2 * fy) * st.extent)];
  }

  function paint() {
    st.raf = 0;
    const [z1, z2] = st.z;
    const fx = (z1 / st.extent + 1) / 2, fy = (1 - z2 / st.extent) / 2;
    const w = pad.clientWidth, h = pad.clientHeight;
    dot.style.transform = `translate(${fx * w}px, ${fy * h}px)`;
    gx.style.transform = `translateY(${fy * h}px)`;
    gy.style.transform = `translateX(${fx * w}px)`;
    zText.textContent = `(${fmt(z1)}, ${fmt(z2)})`;
    const last = st.painted;
    if (!st.decoder || (last && last[0] === z1 && last[1] === z2 && last[2] === st.decoder && last[3] === st.label)) return;
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
    rect = pad.getBoundingClientRect();
    pad.classList.add('dragging');
    st.z = zFromEvent(e); schedule();
  }
  function move(e) {
    if (!st.dragging) return;
    st.dragMoves += 1;
    st.z = zFromEvent(e); schedule();
  }
  function up(e) {
    if (!st.dragging) return;
    st.dragging = false;
    pad.classList.remove('dragging');
    if (e.type === 'pointerup') st.z = zFromEvent(e);
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
    st.z = [clamp(round2(next[0])), clamp(round2(next[1]))];
    schedule();
    clearTimeout(st.keyTimer);
    st.keyTimer = setTimeout(commit, 180);  // one commit per burst of key presses
  }
  pad.addEventListener('pointerdown', down);
  pad.addEventListener('pointermove', move);
  pad.addEventListener('pointerup', up);
  pad.addEventListener('pointercancel', up);
  pad.addEventListener('keydown', key);
  const resize = new ResizeObserver(schedule);  // keep the dot in place if the pad is resized
  resize.observe(pad);

  function update(data) {
    st.data = data;
    st.extent = Number(data.extent) > 0 ? Number(data.extent) : 4;
    const e = String(+st.extent.toFixed(2));
    root.querySelectorAll('.hi').forEach((el) => { el.textContent = '+' + e; });
    root.querySelectorAll('.lo').forEach((el) => { el.textContent = '−' + e; });
    let parsed = false;
    try {
      if (data.decoder && !CACHE.decoders.has(data.model)) {
        const fresh = remember(CACHE.decoders, data.model, makeDecoder(data.decoder));
        for (let i = 0; i < 12; i++) fresh.forward(Math.sin(i) * 3, Math.cos(i) * 3, 0);  // warm the JIT
        parsed = true;
      }
    } catch (err) {
      console.error(err);
      root.querySelector('.loading').textContent = String(err.message || err);
      return;
    }
    if (data.background && !CACHE.backgrounds.has(data.bg)) remember(CACHE.backgrounds, data.bg, data.background);
    const decoder = CACHE.decoders.get(data.model), background = CACHE.backgrounds.get(data.bg);
    if (background && img.getAttribute('src') !== background) img.src = background;
    st.decoder = decoder || null;
    st.label = Number.isInteger(data.label) ? data.label : null;
    root.classList.toggle('ready', !!decoder);
    const have = decoder && background ? `${data.model}|${data.bg}` : '';
    // Tell Python what we hold (it then stops sending it), or ask again if the cache lost it.
    if (st.setStateValue && data.have !== have) st.setStateValue('have', have);
    if (decoder) {
      HOOK.ready = true; HOOK.model = data.model;
      HOOK.label = st.label;
      HOOK.decode = (z1, z2, label = st.label) => Array.from(decoder.forward(Number(z1), Number(z2), label));
      if (parsed) HOOK.parses = (HOOK.parses || 0) + 1;
    }
    // The server's z is taken unless the user is dragging, or it predates our latest commit
    // (a rerun still in flight; after 3 s the server wins whatever it acknowledged).
    const z = Array.isArray(data.z) ? data.z.map(Number) : [0, 0];
    const stale = Number(data.ack || 0) < st.lastSeq && performance.now() - st.committedAt < 3000;
    if (!st.dragging && !stale && z.every(Number.isFinite)) st.z = [clamp(z[0]), clamp(z[1])];
    schedule();
  }

  function destroy() {
    pad.removeEventListener('pointerdown', down);
    pad.removeEventListener('pointermove', move);
    pad.removeEventListener('pointerup', up);
    pad.removeEventListener('pointercancel', up);
    pad.removeEventListener('keydown', key);
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
def _decoder_export(key: str, _handle: ModelHandle) -> dict[str, Any]:
    """The decoder export (shared by all sessions, read-only); ValueError if not exportable."""
    return decoder_export(_handle.model)


@st.cache_resource(show_spinner=False, max_entries=8)
def _background(key: str, _handle: ModelHandle, extent: float) -> tuple[str, str]:
    """(content id, PNG data URI) of the latent scatter filling [-extent, extent]^2."""
    picture = scatter_background(_handle, extent, BACKGROUND_PX)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", optimize=True)
    raw = buffer.getvalue()
    return hashlib.sha256(raw).hexdigest(), "data:image/png;base64," + base64.b64encode(raw).decode("ascii")


def decoder_summary(handle: ModelHandle) -> str | None:
    """One sentence on what the browser runs for this model (None if it cannot run it)."""
    try:
        export = _decoder_export(handle.key, handle)
    except ValueError:
        return None
    sizes = " → ".join(str(n) for n in export["sizes"])
    if export["num_classes"]:
        sizes = f"{export['latent_dim']} (z) + {export['num_classes']} (one-hot label) → " + sizes.split(" → ", 1)[1]
    activation = {"elu": "ELU", "relu": "ReLU", "tanh": "tanh"}[export["activation"]]
    return (f"The decoder is an MLP, {sizes}, with {activation} between layers and a "
            f"sigmoid at the end: {export['params']:,} float32 numbers ({4 * export['params'] / 1e6:.1f} MB), "
            "sent to this browser once per model and cached there.")


def _parse_commit(value: object, extent: float) -> tuple[tuple[float, float], int] | None:
    """The browser's committed {"z": [z1, z2], "seq": n} -> ((z1, z2) clipped, seq), or None."""
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
    return (min(max(z1, -extent), extent), min(max(z2, -extent), extent)), n


def _state(key: str) -> dict[str, Any]:
    try:
        value = st.session_state[key]
    except KeyError:
        return {}
    return dict(value) if isinstance(value, dict) else {}


def latent_pad(
    handle: ModelHandle,
    z: tuple[float, float],
    key: str,
    extent: float = 4.0,
    on_commit: Callable[[tuple[float, float]], None] | None = None,
    label: int | None = None,
) -> tuple[float, float] | None:
    """Show the pad at `z`; returns the z last committed in the browser (None before any).

    `label`: the digit class fed to a conditional VAE's decoder (0 if not given); ignored for
    a plain VAE.

    `on_commit(z)` runs as a widget callback, before the rerun that a commit causes: the place to
    copy z into other widgets' session_state keys (sliders), which a page may not do after those
    widgets exist. Shows an st.error instead of the pad for a model the browser cannot decode.
    """
    if handle.model.config.latent_dim != 2:
        st.error("The latent pad needs a model with a 2-D latent space.")
        return None
    try:
        export = _decoder_export(handle.key, handle)
    except ValueError as exc:
        st.error(f"This model cannot be decoded in the browser: {exc}")
        return None
    model_id = export["sha256"]
    bg_id, background = _background(handle.key, handle, float(extent))
    state = _state(key)
    have = state.get("have") if isinstance(state.get("have"), str) else ""
    held = set(have.split("|")) if have else set()
    committed = _parse_commit(state.get("z"), extent)
    data = {
        "model": model_id,
        "bg": bg_id,
        "have": have,
        "z": [float(z[0]), float(z[1])],
        "extent": float(extent),
        "label": (int(label or 0) if handle.conditional else None),
        "ack": committed[1] if committed else 0,
        "decoder": None if model_id in held else export,
        "background": None if bg_id in held else background,
    }

    def _committed() -> None:
        parsed = _parse_commit(_state(key).get("z"), extent)
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
    parsed = _parse_commit(getattr(result, "z", None), extent)
    return parsed[0] if parsed else None
