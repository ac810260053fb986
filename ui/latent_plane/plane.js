// The latent plane: one component for every page that shows the 2-D latent space
// (ui/latent_plane/__init__.py is its Python side; vae/plane.py builds its layers).
//
// A square of the plane (linear z, or Gaussian quantiles u = Phi(z)), layers drawn on it
// (pictures, points, lines, a path, markers, a legend that toggles them, a colour bar), a
// point that follows hover, click, drag and the arrow keys, and beside it E[x|z] decoded in
// the browser: a plain-JS forward pass of the decoder's MLP, one decode per animation frame,
// no server round trip. On release (or after arrow keys) z is committed to Python.
//
// The pure parts (decoder, Phi and its inverse, pixel <-> z, zoom, layer geometry) are named
// exports, unit-tested on node's own runner (tests/js/); the default export is what Streamlit
// calls with the component's DOM, `mount` what a page without Streamlit calls (vae/site.py).

export const FORMAT = 'latent-explorer-decoder';
// Hidden-layer activations the browser runs; the same names as vae.model.ACTIVATIONS (a test
// compares them). The output is always a sigmoid (Bernoulli means).
export const ACTIVATIONS = {
  elu: (s) => (s > 0 ? s : Math.expm1(s)),
  relu: (s) => (s > 0 ? s : 0),
  tanh: (s) => Math.tanh(s),
};
const MAX_CACHED = 32;
const KEY_STEP = 0.05;  // one arrow key press (the sliders' step); Shift: 10x

// ---------------------------------------------------------------- pure: bytes and the decoder

const LITTLE = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// n little-endian float32 at byte offset `at` of an ArrayBuffer.
function float32s(buffer, at, n) {
  if (LITTLE && at % 4 === 0) return new Float32Array(buffer, at, n);
  const view = new DataView(buffer, at), out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

// The decoder file (vae/export.py: b"LXDC", uint32 header length, JSON header, then per layer
// f32: weight [out, in] float32, bias [out]; q8: scale [out] float32, k [out, in] int8 with
// weight = float32(k * scale[row]), bias [out]; every array 4-byte aligned) -> a spec for
// makeDecoder: the header with layers [{in, out, W: Float32Array, b: Float32Array}].
export function parseDecoder(buffer) {
  const bytes = new Uint8Array(buffer);
  if (bytes.length < 8 || String.fromCharCode(...bytes.subarray(0, 4)) !== 'LXDC') throw new Error('latent plane: not a decoder file');
  const headerLength = new DataView(buffer).getUint32(4, true);
  if (8 + headerLength > bytes.length) throw new Error('latent plane: truncated decoder file');
  const header = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + headerLength)));
  let at = 8 + headerLength;
  const take = (n, size) => {  // the next array of n items of `size` bytes: its byte offset
    const start = at, end = at + n * size;
    if (end > bytes.length) throw new Error('latent plane: truncated decoder file');
    at = end + ((4 - (end % 4)) % 4);
    return start;
  };
  const layers = (header.layers || []).map((l) => {
    const n = l.in * l.out;
    let W;
    if (l.dtype === 'q8') {
      const scale = float32s(buffer, take(l.out, 4), l.out), k = new Int8Array(buffer, take(n, 1), n);
      W = new Float32Array(n);  // float32(k * scale): k * scale is exact in a double, then one rounding
      for (let o = 0, i = 0; o < l.out; o++) for (let j = 0; j < l.in; j++, i++) W[i] = Math.fround(k[i] * scale[o]);
    } else if (l.dtype === 'f32') W = float32s(buffer, take(n, 4), n);
    else throw new Error(`latent plane: unknown weight type ${l.dtype}`);
    return { in: l.in, out: l.out, W, b: float32s(buffer, take(l.out, 4), l.out) };
  });
  return { ...header, layers };
}

// A decoder spec (parseDecoder) -> { forward(z1, z2, label) -> Float32Array of P pixels }.
export function makeDecoder(spec) {
  if (!spec || spec.format !== FORMAT || spec.version !== 2) throw new Error('latent plane: unknown decoder format');
  const act = ACTIVATIONS[spec.activation];
  if (!act || spec.output !== 'sigmoid') throw new Error(`latent plane: unsupported decoder (${spec.activation})`);
  const layers = spec.layers.map((l) => {
    const { W, b } = l;  // W: [out, in] row-major, b: [out]
    if (!W || !b || W.length !== l.in * l.out || b.length !== l.out) throw new Error('latent plane: layer size mismatch');
    return { nIn: l.in, nOut: l.out, W, b, y: new Float64Array(l.out) };
  });
  // Input: z [D], then for a conditional VAE one_hot(label) [C] (vae/export.py).
  const D = spec.latent_dim, C = spec.num_classes || 0, P = layers[layers.length - 1].nOut;
  if (layers[0].nIn !== D + C) throw new Error('latent plane: decoder input size mismatch');
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
        const s = b[o] + ((s0 + s1) + (s2 + s3));
        y[o] = last ? s : act(s);
      }
      h = y;
    }
    for (let p = 0; p < P; p++) image[p] = 1 / (1 + Math.exp(-h[p]));
    return image;
  }
  return { forward, P, C, side: spec.image_shape[spec.image_shape.length - 1] };
}

// ---------------------------------------------------------------- pure: geometry

export const fmt = (v) => (v < 0 ? '-' : '+') + Math.abs(v).toFixed(2);  // as Python's f"{v:+.2f}"
export const round2 = (v) => Math.round(v * 100) / 100;

// The standard normal CDF and its inverse, for Gaussian-quantile planes (plot coordinate
// u = Phi(z)). erfc: Numerical Recipes' erfcc (|error| < 1.2e-7); Phi^-1: Acklam's rational
// approximation (relative error < 1.2e-9). Both far below one pixel of the plane.
export function erfc(x) {
  const z = Math.abs(x), t = 1 / (1 + 0.5 * z);
  const r = t * Math.exp(-z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 +
    t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))));
  return x >= 0 ? r : 2 - r;
}
export const ndtr = (z) => 0.5 * erfc(-z / Math.SQRT2);
export function ndtri(p) {
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

// A plane: the square [lo, hi]^2 of plot coordinates (vae.plane.Plane) and its mapping to z.
export function makePlane(data) {
  const gaussian = data.spacing === 'gaussian';
  let lo = Number(data.lo), hi = Number(data.hi);
  if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo)) { lo = -4; hi = 4; }
  // A Gaussian manifold's outer half cells reach past u = 0 and 1: the square keeps them, and
  // u is clipped only when turned into z (as vae.plane.from_plot does).
  const toU = gaussian ? ndtr : (z) => z;
  const fromU = gaussian ? (u) => ndtri(Math.max(1e-6, Math.min(1 - 1e-6, u))) : (u) => u;
  const plane = { spacing: gaussian ? 'gaussian' : 'linear', lo, hi, toU, fromU,
                  key: `${data.spacing}|${lo}|${hi}|${data.ticks}` };
  plane.min = fromU(lo); plane.max = fromU(hi);
  plane.clamp = (v) => Math.max(plane.min, Math.min(plane.max, v));
  plane.ticks = String(data.ticks || '').split(',').filter((t) => t !== '').map(Number)
    .filter((t) => Number.isFinite(t) && t >= plane.min && t <= plane.max);
  return plane;
}

// A view: the square part [x0, x1] x [y0, y1] (plot coordinates) of the plane on screen.
// Parsed from "x0,x1,y0,y1"; anything invalid, or outside the plane, is the whole plane.
export function parseView(plane, text) {
  const v = String(text || '').split(',').map(Number);
  const whole = { x0: plane.lo, x1: plane.hi, y0: plane.lo, y1: plane.hi };
  if (v.length !== 4 || !v.every(Number.isFinite)) return whole;
  const [x0, x1, y0, y1] = v;
  const side = Math.min(x1 - x0, y1 - y0);
  if (!(side > 0)) return whole;
  return squareView(plane, (x0 + x1) / 2, (y0 + y1) / 2, side);
}

// A square view of `side` centred at (cx, cy), moved (not shrunk) to lie inside the plane.
export function squareView(plane, cx, cy, side) {
  const full = plane.hi - plane.lo;
  side = Math.min(full, Math.max(side, full * 1e-3));
  const start = (c) => Math.min(Math.max(c - side / 2, plane.lo), plane.hi - side);
  const x0 = start(cx), y0 = start(cy);
  return { x0, x1: x0 + side, y0, y1: y0 + side };
}

// The sliders' range (data.sliders): whole steps inside the plane's z range, e.g. -4..4 by 0.05.
export function sliderRange(plane, step = KEY_STEP) {
  const snap = (v) => +v.toFixed(6);
  return { min: snap(Math.ceil(plane.min / step - 1e-9) * step), max: snap(Math.floor(plane.max / step + 1e-9) * step), step };
}

// An axis's ticks over the z range [lo, hi] on screen: the plane's own that fall inside it (at
// least three) or, zoomed in past them, round numbers (1, 2 or 5 times a power of ten) across the
// whole range, the finest such step that gives at most 7.
export function axisTicks(planeTicks, lo, hi) {
  const inside = planeTicks.filter((t) => t >= lo - 1e-9 && t <= hi + 1e-9);
  if (inside.length >= 3 || !(hi > lo)) return inside;
  const power = Math.pow(10, Math.floor(Math.log10(hi - lo)) - 1);
  const step = [1, 2, 5, 10, 20, 50, 100].map((m) => m * power).find((s) => (hi - lo) / s <= 6 + 1e-9);
  const ticks = [];
  for (let t = Math.ceil(lo / step - 1e-9) * step; t <= hi + 1e-9; t += step) ticks.push(+t.toFixed(6));
  return ticks;
}

export const isWhole = (plane, view) => view.x1 - view.x0 >= (plane.hi - plane.lo) * (1 - 1e-9);

// Zoom by `factor` (< 1: in) around a z, as a new square view inside the plane.
export function zoomView(plane, view, z, factor) {
  return squareView(plane, plane.toU(z[0]), plane.toU(z[1]), (view.x1 - view.x0) * factor);
}

// z -> fractions of the view (0..1 left to right, 0..1 bottom to top), and back.
export function fracOf(plane, view, z1, z2) {
  return [(plane.toU(z1) - view.x0) / (view.x1 - view.x0), (plane.toU(z2) - view.y0) / (view.y1 - view.y0)];
}
export function zAt(plane, view, fx, fy) {
  const c = (f) => Math.max(0, Math.min(1, f));
  return [plane.fromU(view.x0 + c(fx) * (view.x1 - view.x0)), plane.fromU(view.y0 + c(fy) * (view.y1 - view.y0))];
}

// Flat [z1, z2, ...] -> pixel positions in a w x h box (y down). clampPad: points beyond the
// view are put on its edge, that far inside (else they land outside the box and are not seen).
export function project(plane, view, xy, w, h, clampPad = -1) {
  const out = new Float64Array(xy.length);
  for (let i = 0; i + 1 < xy.length; i += 2) {
    const [fx, fy] = fracOf(plane, view, xy[i], xy[i + 1]);
    let px = fx * w, py = (1 - fy) * h;
    if (clampPad >= 0) {
      px = Math.max(clampPad, Math.min(w - clampPad, px));
      py = Math.max(clampPad, Math.min(h - clampPad, py));
    }
    out[i] = px; out[i + 1] = py;
  }
  return out;
}

// A picture's box (left, top, width, height, in % of the view) from its extent (plot coords).
export function pictureBox(view, extent) {
  const [x0, x1, y0, y1] = extent;
  const sx = 100 / (view.x1 - view.x0), sy = 100 / (view.y1 - view.y0);
  return { left: (x0 - view.x0) * sx, top: (view.y1 - y1) * sy, width: (x1 - x0) * sx, height: (y1 - y0) * sy };
}

// A points file (vae/plane.py: float32 LE pairs [N, 2], then one group byte each [N]) ->
// { xy, g, byGroup: [indices per group] }.
export function parsePoints(buffer, count, nGroups) {
  const n = Number(count);
  if (!(n >= 0) || buffer.byteLength !== 9 * n) throw new Error('latent plane: points file of the wrong size');
  const xy = float32s(buffer, 0, 2 * n), g = new Uint8Array(buffer, 8 * n, n);
  const byGroup = Array.from({ length: Math.max(1, nGroups) }, () => []);
  for (let i = 0; i < n; i++) if (g[i] < byGroup.length) byGroup[g[i]].push(i);
  return { xy, g, byGroup };
}

// The legend: one entry per layer with legend on; a points layer with several groups gets
// one per group. key: what a click toggles.
export function legendEntries(layers) {
  const out = [];
  for (const l of layers) {
    if (!l || l.legend === false) continue;
    if (l.kind === 'points' && (l.groups || []).length > 1) {
      l.groups.forEach((name, i) => out.push({ key: `${l.name}#${i}`, label: name, color: (l.colors || [])[i % (l.colors || ['#444']).length], kind: 'points' }));
    } else {
      const color = l.kind === 'points' ? (l.colors || ['#444'])[0] : l.kind === 'picture' ? ((l.scale || {}).colors || ['#888']).at(-1) : l.color;
      out.push({ key: l.name, label: l.name, color, kind: l.kind, ...(l.kind === 'markers' ? { symbol: l.symbol || 'ring' } : {}) });
    }
  }
  return out;
}

// Initially hidden legend keys (layers that arrive with visible: false): a grouped points
// layer hides each of its groups, so that each group's entry can bring its own back.
export function initiallyHidden(layers) {
  return layers.filter((l) => l && l.visible === false).flatMap((l) => (
    l.kind === 'points' && (l.groups || []).length > 1 ? l.groups.map((_, i) => `${l.name}#${i}`) : [l.name]));
}

// ---------------------------------------------------------------- the component (DOM)

const CACHE = (globalThis.__latentPadCache ||= { decoders: new Map(), blobs: new Map(), pending: new Map(), waiters: new Map() });
const LINKS = (globalThis.__latentPlaneLinks ||= new EventTarget());  // linked planes' z (data.link)
const HOOK = (globalThis.__latentPad ||= {
  ready: false, model: null, z: null, frames: 0, decodeMs: [], drags: [], shownAt: 0,
  decode() { throw new Error('latent plane: no decoder loaded'); },
});

function remember(map, id, value) {
  map.set(id, value);
  while (map.size > MAX_CACHED) map.delete(map.keys().next().value);
  return value;
}

function drawSymbol(ctx, symbol, x, y, r) {
  ctx.beginPath();
  if (symbol === 'x' || symbol === 'cross') {
    const d = symbol === 'x' ? r * 0.8 : r;
    if (symbol === 'x') { ctx.moveTo(x - d, y - d); ctx.lineTo(x + d, y + d); ctx.moveTo(x - d, y + d); ctx.lineTo(x + d, y - d); }
    else { ctx.moveTo(x - d, y); ctx.lineTo(x + d, y); ctx.moveTo(x, y - d); ctx.lineTo(x, y + d); }
    ctx.stroke();
  } else if (symbol === 'star') {
    for (let k = 0; k < 10; k++) {
      const a = -Math.PI / 2 + k * Math.PI / 5, rr = k % 2 ? r * 0.45 : r;
      if (k) ctx.lineTo(x + rr * Math.cos(a), y + rr * Math.sin(a)); else ctx.moveTo(x + rr * Math.cos(a), y + rr * Math.sin(a));
    }
    ctx.closePath(); ctx.stroke();
  } else {
    ctx.arc(x, y, r, 0, 2 * Math.PI);
    if (symbol === 'ring') ctx.stroke(); else ctx.fill();
  }
}

function createPlane(root) {
  const q = (s) => root.querySelector(s);
  const pad = q('.pad'), dot = q('.dot'), ghost = q('.ghost'), gx = q('.gx'), gy = q('.gy'), handle = q('.handle');
  const pics = q('.pics'), vec = q('.vec'), canvas = q('canvas.digit'), ctx = canvas.getContext('2d');
  const zText = q('.zt'), which = q('.which'), msText = q('.ms'), legend = q('.legend');
  const sliders = [q('.s1'), q('.s2')], sliderText = [q('.v1'), q('.v2')];
  const st = {
    setStateValue: null, decoder: null, label: null, plane: makePlane({}), view: null, viewKey: null,
    layers: [], hidden: new Set(), hiddenKey: '', commit: true, hover: false,
    z: [0, 0], hoverZ: null, painted: null, dragging: false, dragStart: 0, dragFrames: 0, dragMoves: 0,
    touched: false, tap: null, lastSeq: 0, committedAt: 0, link: '', followUntil: 0, raf: 0, keyTimer: 0, imageData: null, msShown: 0, recent: [], vecDirty: true,
  };
  st.view = parseView(st.plane, '');

  // The plane's picture area (inside its 1px border), read once per drag: reading it on every
  // move would force a style and layout pass of the whole page per event.
  let rect = null;
  function area() {
    const r = pad.getBoundingClientRect();
    return { left: r.left + pad.clientLeft, top: r.top + pad.clientTop, width: pad.clientWidth, height: pad.clientHeight };
  }
  function zFromEvent(e) {
    const r = rect || area();
    return zAt(st.plane, st.view, (e.clientX - r.left) / r.width, 1 - (e.clientY - r.top) / r.height);
  }

  function drawAxes() {
    const { plane, view } = st;
    for (const [axis, vertical] of [[q('.xaxis'), false], [q('.yaxis'), true]]) {
      axis.querySelectorAll('.tick').forEach((el) => el.remove());
      const lo = plane.fromU(vertical ? view.y0 : view.x0), hi = plane.fromU(vertical ? view.y1 : view.x1);
      for (const t of axisTicks(plane.ticks, lo, hi)) {
        const el = document.createElement('span');
        el.className = 'tick';
        el.textContent = (t < 0 ? '−' : '') + String(+Math.abs(t).toFixed(3));
        const [fx, fy] = fracOf(plane, view, t, t);
        if (vertical) el.style.top = `${(1 - fy) * 100}%`; else el.style.left = `${fx * 100}%`;
        axis.appendChild(el);
      }
    }
    const whole = isWhole(plane, view);
    root.classList.toggle('is-zoomed', !whole);
    q('.zoomed').textContent = whole ? '' : `zoomed ×${((plane.hi - plane.lo) / (view.x1 - view.x0)).toFixed(1)}`;
    q('.zall').disabled = whole; q('.zout').disabled = whole;
  }

  // Pictures: one <img> per picture layer, placed by its extent within the view.
  function drawPictures() {
    const wanted = st.layers.filter((l) => l.kind === 'picture');
    const imgs = [...pics.children];
    wanted.forEach((l, i) => {
      let img = imgs[i];
      if (!img) { img = document.createElement('img'); img.alt = ''; img.draggable = false; pics.appendChild(img); }
      const uri = l.src ? String(l.src) : '';  // a static file: the browser's HTTP cache keeps it
      if (uri && img.getAttribute('src') !== uri) img.src = uri;
      const box = pictureBox(st.view, l.extent);
      Object.assign(img.style, { left: `${box.left}%`, top: `${box.top}%`, width: `${box.width}%`, height: `${box.height}%`,
                                 opacity: String(l.opacity ?? 1), display: st.hidden.has(l.name) || !uri ? 'none' : '' });
      img.classList.toggle('pixelated', !!l.pixelated);
    });
    imgs.slice(wanted.length).forEach((el) => el.remove());
    const scaled = wanted.find((l) => l.scale && !st.hidden.has(l.name));
    root.classList.toggle('has-scale', !!scaled);
    if (scaled) {
      const s = scaled.scale;
      q('.st').textContent = s.title || '';
      q('.smin').textContent = Number(s.min).toPrecision(3);
      q('.smax').textContent = Number(s.max).toPrecision(3);
      q('.sbar').style.background = `linear-gradient(to right, ${s.colors.join(', ')})`;
    }
  }

  // Points, lines, paths and markers on one canvas at the screen's pixel density; redrawn when
  // the layers, the view, the size or what is hidden change (not per frame: the dot is a DOM node).
  function drawVectors() {
    st.vecDirty = false;
    const w = pad.clientWidth, h = pad.clientHeight, dpr = globalThis.devicePixelRatio || 1;
    if (vec.width !== Math.round(w * dpr) || vec.height !== Math.round(h * dpr)) {
      vec.width = Math.round(w * dpr); vec.height = Math.round(h * dpr);
    }
    const g = vec.getContext('2d');
    g.setTransform(dpr, 0, 0, dpr, 0, 0);
    g.clearRect(0, 0, w, h);
    g.lineJoin = 'round'; g.lineCap = 'round';
    const { plane, view } = st;
    const labels = [];  // text on the plane as DOM nodes: crisp, readable by screen readers and tests
    for (const l of st.layers) {
      if (st.hidden.has(l.name)) continue;
      if (l.kind === 'points') {
        const pts = CACHE.blobs.get(l.src);
        if (!pts) continue;
        const px = project(plane, view, pts.xy, w, h, l.clamp ? 4 : -1);
        const r = Number(l.size) || 2.5, colors = l.colors || ['#444'];
        pts.byGroup.forEach((idx, gi) => {
          if (st.hidden.has(`${l.name}#${gi}`)) return;
          g.fillStyle = g.strokeStyle = colors[gi % colors.length];
          g.lineWidth = 1.5;
          g.globalAlpha = l.symbol === 'dot' ? 0.8 : 1;
          for (const i of idx) {
            const x = px[2 * i], y = px[2 * i + 1];
            if (x < -r || y < -r || x > w + r || y > h + r) continue;
            if (l.symbol === 'dot' && r <= 3) g.fillRect(x - r / 2, y - r / 2, r, r);
            else drawSymbol(g, l.symbol, x, y, r);
          }
        });
        g.globalAlpha = 1;
      } else if (l.kind === 'line' || l.kind === 'path') {
        const px = project(plane, view, l.xy, w, h);
        g.strokeStyle = l.color; g.lineWidth = Number(l.width) || (l.kind === 'path' ? 3 : 2);
        g.setLineDash(l.dash ? [6, 5] : []);
        g.beginPath();
        for (let i = 0; i < px.length; i += 2) (i ? g.lineTo : g.moveTo).call(g, px[i], px[i + 1]);
        if (l.closed) g.closePath();
        g.stroke(); g.setLineDash([]);
        if (l.kind === 'path') {
          g.fillStyle = l.color; g.font = '11px sans-serif'; g.textAlign = 'center';
          const n = px.length / 2;
          for (let i = 0; i < n; i++) {
            g.beginPath(); g.arc(px[2 * i], px[2 * i + 1], 3.5, 0, 2 * Math.PI); g.fill();
            if (l.numbered && i > 0 && i < n - 1) g.fillText(String(i + 1), px[2 * i], px[2 * i + 1] - 7);
          }
          (l.ends || []).forEach((text, k) => {  // A at the start, B at the end: labelled discs (DOM)
            const i = k === 0 ? 0 : n - 1;
            labels.push({ text: String(text), x: px[2 * i], y: px[2 * i + 1], color: l.color, cls: 'end' });
          });
        }
      } else if (l.kind === 'markers') {
        const r = (Number(l.size) || 12) / 2;
        const px = project(plane, view, l.xy, w, h, l.clamp ? r + 2 : -1);
        for (let i = 0; i < px.length; i += 2) {
          const x = px[i], y = px[i + 1];
          g.lineWidth = 4; g.strokeStyle = 'rgba(255,255,255,.8)'; g.fillStyle = '#fff';
          drawSymbol(g, l.symbol, x, y, r);  // a light halo under the symbol: visible on any picture
          g.lineWidth = 2; g.strokeStyle = g.fillStyle = l.color;
          drawSymbol(g, l.symbol, x, y, r);
          const text = (l.texts || [])[i / 2];
          if (text) labels.push({ text: String(text), x: x + r + 1, y: y - r - 1, color: l.color, cls: 'mtext' });
        }
      }
    }
    drawLabels(labels, w, h);
  }

  function drawLabels(labels, w, h) {
    const box = q('.labels');
    box.replaceChildren(...labels.filter((t) => t.x >= 0 && t.y >= 0 && t.x <= w && t.y <= h).map((t) => {
      const el = document.createElement('span');
      el.className = t.cls; el.textContent = t.text; el.style.color = t.color;
      if (t.cls === 'end') el.style.borderColor = t.color;
      el.style.left = `${(100 * t.x) / w}%`; el.style.top = `${(100 * t.y) / h}%`;
      return el;
    }));
  }

  function drawLegend() {
    const entries = legendEntries(st.layers);
    const key = entries.map((e) => `${e.key}:${e.color}`).join(';');
    if (legend.dataset.key !== key) {
      legend.dataset.key = key;
      legend.replaceChildren(...entries.map((e) => {
        const chip = document.createElement('button');
        chip.type = 'button'; chip.className = 'chip'; chip.dataset.key = e.key;
        const sw = document.createElement('i');
        const glyph = { x: '×', cross: '+', star: '★' }[e.symbol];  // a marker's chip shows its symbol
        sw.className = glyph ? 'sym' : e.symbol === 'ring' ? 'ring' : e.kind === 'line' || e.kind === 'path' ? 'line' : e.kind === 'picture' ? 'pic' : '';
        if (glyph) { sw.textContent = glyph; sw.style.color = e.color || '#888'; }
        else if (e.symbol === 'ring') sw.style.borderColor = e.color || '#888';
        else sw.style.background = e.color || '#888';
        chip.append(sw, document.createTextNode(e.label));
        chip.title = 'Show or hide this layer';
        return chip;
      }));
    }
    for (const chip of legend.children) chip.setAttribute('aria-pressed', String(!st.hidden.has(chip.dataset.key)));
  }
  function toggle(e) {
    const chip = e.target.closest('.chip');
    if (!chip) return;
    const k = chip.dataset.key;
    if (st.hidden.has(k)) st.hidden.delete(k); else st.hidden.add(k);
    drawLegend(); drawPictures(); drawVectors();
  }

  function setView(view) {
    st.view = view;
    drawAxes(); drawPictures(); st.vecDirty = true; schedule();
  }
  function zoom(factor) {
    const centre = root.classList.contains('unset')
      ? [st.plane.fromU((st.view.x0 + st.view.x1) / 2), st.plane.fromU((st.view.y0 + st.view.y1) / 2)] : st.z;
    setView(factor === 0 ? parseView(st.plane, '') : zoomView(st.plane, st.view, centre, factor));
  }

  function place(el, z, w, h) {
    const [fx, fy] = fracOf(st.plane, st.view, z[0], z[1]);
    el.style.transform = `translate(${fx * w}px, ${(1 - fy) * h}px)`;
  }

  function paint() {
    st.raf = 0;
    if (st.vecDirty) drawVectors();
    const w = pad.clientWidth, h = pad.clientHeight;
    place(dot, st.z, w, h); place(handle, st.z, w, h);
    const [fx, fy] = fracOf(st.plane, st.view, st.z[0], st.z[1]);
    gx.style.transform = `translateY(${(1 - fy) * h}px)`;
    gy.style.transform = `translateX(${fx * w}px)`;
    const hovering = st.hoverZ !== null && !st.dragging;
    root.classList.toggle('hovering', hovering);
    if (hovering) place(ghost, st.hoverZ, w, h);
    const [z1, z2] = hovering ? st.hoverZ : st.z;  // the digit shows the hovered z, if any
    which.textContent = hovering ? 'hover z' : 'z';
    zText.textContent = `(${fmt(z1)}, ${fmt(z2)})`;
    if (st.sliders) showSliders();
    if (!st.decoder) return;
    // The hook follows the plane painted last (a page may show two, of two models).
    const { decoder, label } = st;
    HOOK.model = st.model; HOOK.label = label;
    HOOK.decode = (a, b, y = label) => Array.from(decoder.forward(Number(a), Number(b), y));
    const last = st.painted;
    if (last && last[0] === z1 && last[1] === z2 && last[2] === st.decoder && last[3] === st.label) {
      HOOK.shownAt = performance.now();  // already on the canvas (a hover painted it)
      HOOK.z = [z1, z2];
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
      const sorted = [...st.recent].sort((p, q2) => p - q2);
      msText.textContent = `${sorted[sorted.length >> 1].toFixed(1)} ms per decode`;
    }
  }
  const schedule = () => { if (!st.raf) st.raf = requestAnimationFrame(paint); };

  // The sliders show the chosen z (not a hovered one); a slider snaps a pad's z to its step.
  function showSliders() {
    for (let i = 0; i < 2; i++) {
      const text = fmt(st.z[i]);
      if (sliderText[i].textContent === text) continue;
      sliderText[i].textContent = text;
      sliders[i].value = String(st.z[i]);
    }
  }

  function commit() {
    HOOK.committed = [round2(st.z[0]), round2(st.z[1])];
    if (!st.setStateValue || !st.commit) return;
    st.lastSeq = Math.max(Date.now(), st.lastSeq + 1);
    st.committedAt = performance.now();
    st.setStateValue('z', { z: HOOK.committed, seq: st.lastSeq });
  }

  // A finger that does not start on the point's handle may be scrolling the page: nothing
  // moves unless it lifts where it landed (a tap), and the browser's scroll cancels it.
  function down(e) {
    if (e.button !== 0) return;
    if (e.pointerType !== 'mouse' && !e.target.closest('.handle')) {
      st.tap = { id: e.pointerId, x: e.clientX, y: e.clientY };
      return;
    }
    e.preventDefault();  // no text selection or image drag; focus still moves to the plane
    pad.focus({ preventScroll: true, focusVisible: false });
    pad.setPointerCapture(e.pointerId);
    st.dragging = true; st.dragStart = performance.now(); st.dragFrames = 0; st.dragMoves = 0;
    rect = area();
    pad.classList.add('dragging');
    st.touched = true; root.classList.remove('unset');
    st.z = zFromEvent(e); schedule(); share(true);
  }
  function move(e) {
    if (st.tap && e.pointerId === st.tap.id && Math.hypot(e.clientX - st.tap.x, e.clientY - st.tap.y) > 10) st.tap = null;
    if (!st.dragging) {
      if (st.hover && e.pointerType === 'mouse') { st.hoverZ = zFromEvent(e); schedule(); share(false); }
      return;
    }
    st.dragMoves += 1;
    st.z = zFromEvent(e); schedule(); share(true);
  }
  function leave() {
    if (st.hoverZ !== null) { st.hoverZ = null; schedule(); share(false); }
  }
  // Linked planes (data.link: the same name on one page, e.g. two models' planes): each shows
  // the z and the hovered z the visitor moves on any of them, decoded by its own model, live.
  // Only the plane under the pointer commits; the others follow the server after it.
  function share(withZ) {
    if (!st.link) return;
    LINKS.dispatchEvent(new CustomEvent('z', { detail: {
      link: st.link, from: root, hoverZ: st.dragging ? null : st.hoverZ, ...(withZ ? { z: st.z } : {}) } }));
  }
  function follow(e) {
    const d = e.detail;
    if (!st.link || d.link !== st.link || d.from === root) return;
    const clamped = (z) => [st.plane.clamp(Number(z[0])), st.plane.clamp(Number(z[1]))];
    if (d.z) {
      st.z = clamped(d.z); st.touched = true; root.classList.remove('unset');
      st.followUntil = performance.now() + 1500;  // meanwhile a rerun's older z does not pull it back
    }
    st.hoverZ = st.hover && d.hoverZ ? clamped(d.hoverZ) : null;
    schedule();
  }
  function up(e) {
    if (st.tap && e.pointerId === st.tap.id) {
      const tapped = e.type === 'pointerup';
      st.tap = null;
      if (tapped) {  // a tap: the point goes there, as a click would put it
        const z = zFromEvent(e);
        st.z = [st.plane.clamp(round2(z[0])), st.plane.clamp(round2(z[1]))];
        st.touched = true; root.classList.remove('unset');
        schedule(); share(true); commit();
      }
      return;
    }
    if (!st.dragging) return;
    st.dragging = false;
    pad.classList.remove('dragging');
    // The point rests where Python will have it (z rounded to 0.01, as committed); the pointer
    // is on it, so no hover preview until the mouse moves on.
    if (e.type === 'pointerup') { const z = zFromEvent(e); st.z = [st.plane.clamp(round2(z[0])), st.plane.clamp(round2(z[1]))]; }
    st.hoverZ = null;
    rect = null;
    if (st.raf) cancelAnimationFrame(st.raf);
    paint();
    HOOK.drags.push({ ms: performance.now() - st.dragStart, frames: st.dragFrames, moves: st.dragMoves });
    if (HOOK.drags.length > 1000) HOOK.drags.shift();
    share(true);
    commit();
  }
  function key(e) {
    const step = (e.shiftKey ? 10 : 1) * KEY_STEP;
    const moves = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, step], ArrowDown: [0, -step] };
    let next;
    if (moves[e.key]) next = [st.z[0] + moves[e.key][0], st.z[1] + moves[e.key][1]];
    else if (e.key === 'Home') next = [0, 0];
    else if (e.key === '+' || e.key === '=') { e.preventDefault(); zoom(0.5); return; }
    else if (e.key === '-') { e.preventDefault(); zoom(2); return; }
    else return;
    e.preventDefault();
    stepTo(next);
  }
  // An arrow key on the plane or a slider's step: z is shown at once (decoded here), and
  // committed once the burst of steps is over.
  function stepTo(next) {
    st.hoverZ = null;
    st.touched = true; root.classList.remove('unset');
    // A commit is pending from now on: a rerun that arrives before it (the previous commit's)
    // must not put the server's older z back (see `stale` in update).
    st.lastSeq = Math.max(Date.now(), st.lastSeq + 1);
    st.committedAt = performance.now();
    st.z = [st.plane.clamp(round2(next[0])), st.plane.clamp(round2(next[1]))];
    schedule(); share(true);
    clearTimeout(st.keyTimer);
    st.keyTimer = setTimeout(commit, 180);  // one commit per burst of key presses
  }
  function slide(e) {
    const i = e.target === sliders[0] ? 0 : 1, next = [...st.z];
    next[i] = Number(e.target.value);
    if (Number.isFinite(next[i])) stepTo(next);
  }
  const onZoom = (e) => { const b = e.target.closest('button'); if (b) zoom(b.classList.contains('zin') ? 0.5 : b.classList.contains('zout') ? 2 : 0); };
  const listeners = [[pad, 'pointerdown', down], [pad, 'pointermove', move], [pad, 'pointerup', up],
                     [pad, 'pointercancel', up], [pad, 'pointerleave', leave], [pad, 'keydown', key],
                     [legend, 'click', toggle], [q('.zoom'), 'click', onZoom],
                     [sliders[0], 'input', slide], [sliders[1], 'input', slide]];
  for (const [el, type, handler] of listeners) el.addEventListener(type, handler);
  LINKS.addEventListener('z', follow);
  const resize = new ResizeObserver(() => { st.vecDirty = true; schedule(); });
  resize.observe(pad);

  // Files by URL (content-hashed, so a URL never changes meaning): fetched once per window,
  // parsed, kept; the browser's HTTP cache answers later visits. When one arrives the plane is
  // updated again with the latest data.
  function fetchOnce(url, parse, into) {
    if (!url || into.has(url)) return;
    // Every plane waiting for this file is updated when it arrives (a page may show two
    // planes of one model: only one of them fetches).
    const waiting = CACHE.waiters.get(url) || new Set();
    waiting.add(refresh);
    CACHE.waiters.set(url, waiting);
    if (CACHE.pending.has(url)) return;
    const loading = fetch(new URL(url, globalThis.location.href))
      .then((r) => { if (!r.ok) throw new Error(`latent plane: ${r.status} for ${url}`); return r.arrayBuffer(); })
      .then((buffer) => { remember(into, url, parse(buffer)); })
      .catch((err) => { console.error(err); q('.loading').textContent = String(err.message || err); })
      .finally(() => {
        CACHE.pending.delete(url);
        const everyone = CACHE.waiters.get(url) || new Set();
        CACHE.waiters.delete(url);
        for (const again of everyone) again();
      });
    CACHE.pending.set(url, loading);
  }
  // A file arrived: redraw with it (the vector canvas too: its points were not there before).
  function refresh() { if (st.data && root.isConnected) { st.vecDirty = true; update(st.data); } }
  function loadDecoder(buffer) {
    const fresh = makeDecoder(parseDecoder(buffer));
    for (let i = 0; i < 12; i++) fresh.forward(Math.sin(i) * 3, Math.cos(i) * 3, 0);  // warm the JIT
    HOOK.parses = (HOOK.parses || 0) + 1;
    return fresh;
  }

  function update(data) {
    const size = Number(data.size) >= 120 ? Number(data.size) : 320;
    root.style.setProperty('--pad', `${size}px`);
    q('.title').textContent = String(data.title || 'Latent plane');
    q('.dtitle').textContent = String(data.digit_title || 'E[x|z]');
    root.classList.toggle('dark', !!data.dark);
    root.classList.toggle('no-digit', data.digit === false);
    // No point chosen yet (a map before its first click): no marker, until one is chosen here.
    root.classList.toggle('unset', !!data.unset && !st.touched);
    st.hover = data.hover !== false;
    st.commit = data.commit !== false;
    st.sliders = !!data.sliders;
    st.link = data.link ? String(data.link) : '';
    root.classList.toggle('has-sliders', st.sliders);
    if (!st.hover) st.hoverZ = null;
    st.data = data;
    let layers = [];
    try {
      layers = JSON.parse(data.layers || '[]');
    } catch (err) {
      console.error(err);
      return;
    }
    fetchOnce(data.decoder_src, loadDecoder, CACHE.decoders);
    for (const l of layers) if (l.kind === 'points') fetchOnce(l.src, (b) => parsePoints(b, l.count, (l.groups || []).length), CACHE.blobs);
    // Layers that arrive hidden start hidden; after that the visitor's toggles are kept.
    const hiddenKey = layers.map((l) => `${l.name}:${l.visible !== false}`).join('|');
    if (hiddenKey !== st.hiddenKey) { st.hiddenKey = hiddenKey; st.hidden = new Set(initiallyHidden(layers)); }
    st.layers = layers;
    const plane = makePlane(data);
    const viewKey = `${plane.key}|${data.view || ''}`;
    if (viewKey !== st.viewKey) {
      st.plane = plane; st.viewKey = viewKey; st.view = parseView(plane, data.view); drawAxes();
      const range = sliderRange(plane);
      for (const s of sliders) { s.min = String(range.min); s.max = String(range.max); s.step = String(range.step); }
      sliderText[0].textContent = sliderText[1].textContent = '';  // shown afresh at the next paint
    }
    // Most updates only move z (a slider step reruns the page with the same layers): redraw the
    // pictures, legend and the vector canvas (thousands of points) only when the layers or the
    // view changed; the marker and the digit are painted below either way.
    const drawKey = `${data.layers || ''}|${viewKey}|${st.hiddenKey}`;
    if (drawKey !== st.drawKey) { st.drawKey = drawKey; drawPictures(); drawLegend(); st.vecDirty = true; }
    const decoder = CACHE.decoders.get(data.decoder_src);
    st.decoder = decoder || null;
    st.label = Number.isInteger(data.label) ? data.label : null;
    root.classList.toggle('ready', !!decoder);
    st.model = data.model;
    if (decoder) {
      HOOK.ready = true; HOOK.model = data.model; HOOK.label = st.label;
      HOOK.decode = (z1, z2, label = st.label) => Array.from(decoder.forward(Number(z1), Number(z2), label));
    }
    // The server's z is taken unless the user is dragging, or it predates our latest commit
    // (a rerun still in flight; after 3 s the server wins whatever it acknowledged).
    const z = [Number(data.z1), Number(data.z2)];
    const stale = (Number(data.ack || 0) < st.lastSeq && performance.now() - st.committedAt < 3000)
      || performance.now() < st.followUntil;  // following a linked plane's pending choice
    if (!st.dragging && !stale && z.every(Number.isFinite)) st.z = [st.plane.clamp(z[0]), st.plane.clamp(z[1])];
    schedule();
  }

  function destroy() {
    for (const [el, type, handler] of listeners) el.removeEventListener(type, handler);
    LINKS.removeEventListener('z', follow);
    resize.disconnect();
    if (st.raf) cancelAnimationFrame(st.raf);
    clearTimeout(st.keyTimer);
  }
  // Per plane (a page may show two, of two models): what its digit shows now, and its decoder.
  const shown = () => (st.hoverZ !== null && !st.dragging ? st.hoverZ : st.z);
  const decode = (a, b) => Array.from(st.decoder.forward(Number(a), Number(b), st.label));
  return { st, update, destroy, shown, decode };
}

// Outside Streamlit (the static site, vae/site.py): the same plane on a root holding
// plane.html's markup, fed the same data as the Python wrapper sends. No server acknowledges
// a choice here: each update's z1, z2 is the page's latest word; onCommit(z) hears every
// choice (a release, a tap, a burst of arrow keys), z rounded to 0.01 as Python gets it.
export function mount(root, data, { onCommit } = {}) {
  const el = root.classList && root.classList.contains('lp') ? root : root.querySelector('.lp');
  if (!el) throw new Error('latent plane: no .lp element to mount on');
  const plane = el.__latentPlane || (el.__latentPlane = createPlane(el));
  plane.st.setStateValue = (name, value) => { if (name === 'z' && onCommit) onCommit(value.z); };
  const update = (next) => plane.update({ ...(next || {}), ack: plane.st.lastSeq });
  update(data);
  // decode(z1, z2): E[x|z] as an array of pixels, once the decoder has arrived (else null).
  const decode = (a, b) => (plane.st.decoder ? plane.decode(a, b) : null);
  return { update, decode, shown: plane.shown, destroy: plane.destroy, st: plane.st };
}

export default function (component) {
  const { data, parentElement, setStateValue } = component;
  const root = parentElement.querySelector('.lp');
  if (!root) return;
  // Streamlit calls this again whenever `data` changes, on the same DOM, and only runs the
  // latest cleanup on unmount: keep one instance per root and just feed it new data.
  let plane = root.__latentPlane;
  if (!plane) { plane = createPlane(root); root.__latentPlane = plane; }
  plane.st.setStateValue = setStateValue;
  plane.update(data || {});
  return () => {
    // Also called at once for a superseded call: tear down only when really unmounted.
    setTimeout(() => {
      if (!root.isConnected && root.__latentPlane === plane) { plane.destroy(); root.__latentPlane = null; }
    }, 0);
  };
}
