// The static explorer's page (vae/site.py builds the folder; site.html is its page). It mounts
// the app's one latent plane (ui/latent_plane/plane.js, `mount`: no Streamlit) with the
// manifold and the data's means as layers and its own z sliders, an interpolation between the
// last two chosen points with PNG and GIF downloads (gif.js), and the model card.
// No network: the decoder and the layers arrive in data.js as data: URLs (fetch() of a file:
// URL is refused; of a data: URL it is not), the manifold as a picture beside index.html.
// The pure parts are named exports (tests/js/site.test.mjs); start() wires the page.

// ---------------------------------------------------------------- pure

// `steps` points from a to b inclusive, as vae.latent.interpolate: linear, or slerp (the
// direction rotates along the great circle while the radius changes linearly).
export function interpolate(a, b, steps, method = 'linear') {
  if (!(Number.isInteger(steps) && steps >= 2)) throw new Error('steps must be an integer >= 2');
  const ts = Array.from({ length: steps }, (_, i) => i / (steps - 1));
  const line = () => ts.map((t) => a.map((v, d) => (1 - t) * v + t * b[d]));
  if (method === 'linear') return line();
  if (method !== 'slerp') throw new Error(`method must be 'linear' or 'slerp', got ${method}`);
  const norm = (v) => Math.hypot(...v);
  const na = norm(a), nb = norm(b);
  if (na < 1e-9 || nb < 1e-9) return line();  // no direction to rotate from
  const cos = Math.min(1, Math.max(-1, a.reduce((s, v, d) => s + v * b[d], 0) / (na * nb)));
  const omega = Math.acos(cos);
  return ts.map((t) => {
    const r = (1 - t) * na + t * nb;
    if (omega < 1e-6) return a.map((v) => (v / na) * r);
    const wa = Math.sin((1 - t) * omega) / Math.sin(omega), wb = Math.sin(t * omega) / Math.sin(omega);
    return a.map((v, d) => (wa * v / na + wb * b[d] / nb) * r);
  });
}

// Bernoulli means in [0, 1] -> grey levels 0..255, as vae.render.to_uint8.
export function greyLevels(values) {
  const out = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = Math.floor(Math.min(1, Math.max(0, values[i])) * 255 + 0.5);
  return out;
}

// Nearest-neighbour enlargement of a w x h grey picture (crisp pixels), as vae.render.upscale.
export function upscale(pixels, w, h, factor) {
  const W = w * factor, out = new Uint8Array(W * h * factor);
  for (let y = 0; y < h * factor; y++) {
    const row = Math.floor(y / factor) * w;
    for (let x = 0; x < W; x++) out[y * W + x] = pixels[row + Math.floor(x / factor)];
  }
  return out;
}

// Square side x side frames side by side with `gap` dark columns between, as vae.render.strip.
export function strip(frames, side, gap = 2) {
  const n = frames.length, width = n * side + (n - 1) * gap, pixels = new Uint8Array(width * side);
  frames.forEach((f, i) => {
    for (let y = 0; y < side; y++) pixels.set(f.subarray(y * side, (y + 1) * side), y * width + i * (side + gap));
  });
  return { width, height: side, pixels };
}

// Forth and back, as vae.render.gif_bytes(bounce=True): A..B then back without repeating the ends.
export const bounce = (frames) => (frames.length > 2 ? [...frames, ...frames.slice(1, -1).reverse()] : [...frames]);

export const zText = (z) => `(${z.map((v) => (v < 0 ? '−' : '+') + Math.abs(v).toFixed(2)).join(', ')})`;

// The path as a plane layer (the data vae.plane.path writes): dots per step, ends A and B.
export function pathLayer(points, method) {
  return { kind: 'path', name: `path A → B (${method})`, xy: points.flat().map((v) => Math.round(v * 1e4) / 1e4),
           color: '#ff2d95', ends: ['A', 'B'], numbered: points.length <= 12, legend: true, visible: true };
}

// A metric as the model card shows it: nats to 2 decimals, accuracies in %, counts as integers.
export function formatMetric(key, value) {
  if (typeof value !== 'number' || !Number.isFinite(value)) return String(value);
  if (/accuracy/.test(key)) return `${(100 * value).toFixed(1)} %`;
  if (/_s$/.test(key)) return `${value.toFixed(1)} s`;
  if (Number.isInteger(value)) return value.toLocaleString('en');
  return `${value.toFixed(2)}${/(elbo|nll|kl|recon|bound|nats)/.test(key) ? ' nats' : ''}`;
}

// ---------------------------------------------------------------- the page (DOM)

function el(doc, tag, attrs = {}, ...children) {
  const node = doc.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'text') node.textContent = v; else if (k === 'class') node.className = v; else node.setAttribute(k, v);
  }
  node.append(...children);
  return node;
}

function table(doc, rows, testid) {
  return el(doc, 'table', { 'data-testid': testid },
    el(doc, 'tbody', {}, ...rows.map(([k, v]) => el(doc, 'tr', {}, el(doc, 'th', { text: k }), el(doc, 'td', { text: v })))));
}

function renderCard(doc, card) {
  const root = doc.getElementById('card');
  const m = card.metrics || {};
  const headline = [['Test ELBO', 'test_elbo', 'evidence lower bound per test image (higher is better)'],
                    ['Test NLL (IWAE)', 'test_nll_iwae', `−log p(x), k = ${m.test_iwae_k ?? '?'} importance samples (lower is better)`],
                    ['5-NN accuracy', 'test_knn5_accuracy', 'digit class from the 5 nearest training latent means']];
  root.append(
    el(doc, 'h2', { text: 'Model card' }),
    el(doc, 'p', { class: 'name', 'data-testid': 'card-name' }, el(doc, 'b', { text: card.name })),
    el(doc, 'div', { class: 'metrics' }, ...headline.map(([label, key, help]) => el(doc, 'div', { class: 'metric', title: help },
      el(doc, 'span', { text: label }), el(doc, 'b', { text: key in m ? formatMetric(key, m[key]) : 'n/a' })))),
    el(doc, 'p', { class: 'arch', text: card.architecture }),
    el(doc, 'p', { class: 'dec', text: card.decoder }),
    el(doc, 'h3', { text: 'Metrics recorded in the checkpoint' }),
    Object.keys(m).length ? table(doc, Object.entries(m).map(([k, v]) => [k, formatMetric(k, v)]), 'card-metrics')
      : el(doc, 'p', { text: 'None recorded.' }),
    el(doc, 'h3', { text: 'Config' }),
    table(doc, Object.entries(card.config || {}).map(([k, v]) => [k, Array.isArray(v) ? v.join(' × ') : String(v)]), 'card-config'),
    el(doc, 'h3', { text: 'Training command' }),
    el(doc, 'pre', {}, el(doc, 'code', { text: card.train_command || '(not recorded)' })),
  );
  if (card.training && Object.keys(card.training).length) {
    root.append(el(doc, 'details', {}, el(doc, 'summary', { text: 'Training record' }),
      table(doc, Object.entries(card.training).map(([k, v]) => [k, typeof v === 'object' ? JSON.stringify(v) : String(v)]), 'card-training')));
  }
}

function download(doc, bytes, name, type) {
  const url = URL.createObjectURL(new Blob([bytes], { type }));
  const a = el(doc, 'a', { href: url, download: name });
  doc.body.append(a); a.click(); a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

export function start({ plane: planeModule, gif, data, doc = document }) {
  const $ = (id) => doc.getElementById(id);
  const base = { ...data.plane, model: data.model, decoder_src: data.decoder_src };
  const state = { z: [Number(base.z1), Number(base.z2)], chosen: [], label: base.label, strip: null };
  renderCard(doc, data.card);

  // The plane in a shadow root, as Streamlit shows it: its CSS stays its own.
  const host = $('plane');
  const shadow = host.attachShadow({ mode: 'open' });
  const link = el(doc, 'link', { rel: 'stylesheet', href: 'plane.css' });
  shadow.append(link, $('plane-markup').content.cloneNode(true));

  let mounted = null;
  const layerData = () => JSON.stringify([...data.layers, ...(state.path ? [pathLayer(state.path, $('method').value)] : [])]);
  // The plane's own z sliders (as on the app's Decoder page): a step is decoded at once, a burst
  // of steps is one choice (onCommit), like a release or a tap.
  const planeData = () => ({ ...base, z1: state.z[0], z2: state.z[1], label: state.label, layers: layerData(), sliders: true });

  function choose(z) {
    state.z = [Number(z[0]), Number(z[1])];
    state.chosen = [...state.chosen, state.z].slice(-2);
    renderStrip();
  }

  // The strip from the previous choice (A) to the latest (B), and the path on the plane.
  function renderStrip() {
    const info = $('ab');
    const [a, b] = state.chosen;
    const ready = state.chosen.length === 2 && !!(mounted && mounted.st.decoder);
    $('download-gif').disabled = !ready; $('download-png').disabled = !ready;
    if (state.chosen.length === 0) info.textContent = 'Click (or tap) two points on the plane: the strip walks from the first (A) to the second (B).';
    else if (state.chosen.length === 1) info.textContent = `A = ${zText(a)} · now click a second point (B).`;
    else info.textContent = `A = ${zText(a)} → B = ${zText(b)}`;
    if (state.chosen.length < 2) { state.path = null; $('strip').hidden = true; return; }
    const steps = Number($('steps').value), method = $('method').value;
    state.path = interpolate(a, b, steps, method);
    if (mounted) mounted.update(planeData());
    if (!ready) return;
    const side = data.side;
    state.frames = state.path.map(([z1, z2]) => greyLevels(mounted.decode(z1, z2)));
    state.strip = strip(state.frames, side, 2);
    const canvas = $('strip');
    canvas.width = state.strip.width; canvas.height = state.strip.height;
    const ctx = canvas.getContext('2d'), image = ctx.createImageData(state.strip.width, state.strip.height);
    state.strip.pixels.forEach((v, i) => image.data.set([v, v, v, 255], 4 * i));
    ctx.putImageData(image, 0, 0);
    canvas.hidden = false;
    canvas.dataset.frames = String(steps);
    canvas.style.maxWidth = `${state.strip.width * 3}px`;
  }

  $('steps').addEventListener('input', () => { $('steps-out').textContent = $('steps').value; renderStrip(); });
  $('method').addEventListener('change', renderStrip);
  if (Number.isInteger(base.label)) {
    const pick = $('label');
    pick.hidden = false;
    pick.querySelector('select').addEventListener('change', (e) => {
      state.label = Number(e.target.value);
      if (mounted) mounted.update(planeData());
      renderStrip();
    });
  }
  const stem = `interpolation-${String(data.card.name).replace(/[^\w.-]+/g, '_')}`;
  $('download-gif').addEventListener('click', () => {
    if (!state.frames) return;
    const f = 4, side = data.side;
    const frames = bounce(state.frames).map((p) => upscale(p, side, side, f));
    download(doc, gif.encodeGif(frames, side * f, side * f, { delayMs: 120 }), `${stem}.gif`, 'image/gif');
  });
  $('download-png').addEventListener('click', () => {
    if (!state.strip) return;
    const { width, height, pixels } = state.strip, f = 2;
    const canvas = el(doc, 'canvas');
    canvas.width = width * f; canvas.height = height * f;
    const ctx = canvas.getContext('2d'), image = ctx.createImageData(width * f, height * f);
    upscale(pixels, width, height, f).forEach((v, i) => image.data.set([v, v, v, 255], 4 * i));
    ctx.putImageData(image, 0, 0);
    canvas.toBlob((blob) => blob && download(doc, blob, `${stem}.png`, 'image/png'));
  });

  renderStrip();
  const go = () => {
    if (mounted) return;
    mounted = planeModule.mount(shadow, planeData(), { onCommit: choose });
    // The decoder arrives a moment later (parsed from its data: URL): then the strip can be drawn.
    const wait = () => (mounted.st.decoder ? renderStrip() : setTimeout(wait, 50));
    wait();
  };
  link.addEventListener('load', go); link.addEventListener('error', go);
  setTimeout(go, 1500);  // a stylesheet that never reports: mount anyway
  return { state, get plane() { return mounted; } };
}
