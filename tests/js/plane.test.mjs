// Unit tests for the latent plane's pure parts (ui/latent_plane/plane.js), on node's own
// runner: `node --test tests/js/` (make test runs it). Expected values come from independent
// sources: published constants of the normal distribution, a hand-written forward pass, and
// the geometry's own inverses.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  ACTIVATIONS, FORMAT, axisTicks, fracOf, initiallyHidden, isWhole, legendEntries, makeDecoder, makePlane,
  ndtr, ndtri, parseDecoder, parsePoints, parseView, pictureBox, project, sliderRange, squareView, zAt, zoomView,
} from '../../ui/latent_plane/plane.js';

const close = (a, b, tol, what = '') => assert.ok(Math.abs(a - b) <= tol, `${what} ${a} vs ${b} (tol ${tol})`);

test('Phi and its inverse match published values and invert each other', () => {
  // Abramowitz & Stegun table 26.1: Phi(1) = 0.8413447461, Phi(-2) = 0.0227501319, Phi(3) = 0.9986501020.
  close(ndtr(1), 0.8413447461, 2e-7, 'Phi(1)');
  close(ndtr(-2), 0.0227501319, 2e-7, 'Phi(-2)');
  close(ndtr(3), 0.9986501020, 2e-7, 'Phi(3)');
  close(ndtri(0.975), 1.959963985, 1e-8, 'Phi^-1(0.975)');
  close(ndtri(0.001), -3.090232306, 1e-7, 'Phi^-1(0.001)');
  for (let z = -4; z <= 4; z += 0.37) close(ndtri(ndtr(z)), z, 2e-5, `round trip at ${z}`);
});

test('pixel fractions and z invert each other on linear and Gaussian planes, zoomed or not', () => {
  for (const data of [{ spacing: 'linear', lo: -4, hi: 4 }, { spacing: 'gaussian', lo: 0.01, hi: 0.99 }]) {
    const plane = makePlane(data);
    for (const view of [parseView(plane, ''), zoomView(plane, parseView(plane, ''), [0.3, -0.2], 0.25)]) {
      for (const [fx, fy] of [[0.1, 0.9], [0.5, 0.5], [0.73, 0.21]]) {
        const [z1, z2] = zAt(plane, view, fx, fy);
        const [gx, gy] = fracOf(plane, view, z1, z2);
        close(gx, fx, 1e-6, `${data.spacing} x`); close(gy, fy, 1e-6, `${data.spacing} y`);
      }
    }
  }
  // The centre of a linear plane is z = 0; of a Gaussian one u = 0.5, i.e. z = 0 too.
  const lin = makePlane({ spacing: 'linear', lo: -4, hi: 4 });
  assert.deepEqual(zAt(lin, parseView(lin, ''), 0.5, 0.5), [0, 0]);
  const gauss = makePlane({ spacing: 'gaussian', lo: 0, hi: 1 });
  close(zAt(gauss, parseView(gauss, ''), 0.5, 0.75)[1], 0.6744897502, 1e-6, 'upper quartile');
  // Pointer positions outside the plane are clamped onto its edge.
  assert.deepEqual(zAt(lin, parseView(lin, ''), -0.5, 1.5), [-4, 4]);
});

test('a bad plane falls back to [-4, 4]; ticks outside it are dropped', () => {
  const plane = makePlane({ spacing: 'linear', lo: 'nan', hi: 2, ticks: '-6,-2,0,x,2,6' });
  assert.equal(plane.lo, -4); assert.equal(plane.hi, 4);
  assert.deepEqual(plane.ticks, [-2, 0, 2]);
});

test('sliders span whole steps inside the plane: -4..4 on a linear plane, inside the clip on a Gaussian one', () => {
  assert.deepEqual(sliderRange(makePlane({ spacing: 'linear', lo: -4, hi: 4 })), { min: -4, max: 4, step: 0.05 });
  assert.deepEqual(sliderRange(makePlane({ spacing: 'linear', lo: -3.07, hi: 3.07 })), { min: -3.05, max: 3.05, step: 0.05 });
  const gauss = makePlane({ spacing: 'gaussian', lo: -0.02, hi: 1.02 });  // u clipped to 1e-6: z within +-4.75
  const range = sliderRange(gauss);
  assert.ok(range.min >= gauss.min && range.min - 0.05 < gauss.min && range.max <= gauss.max && range.max + 0.05 > gauss.max, JSON.stringify(range));
  close(range.min / 0.05, Math.round(range.min / 0.05), 1e-9, 'a whole step');
});

test('axis ticks: the plane\'s own while three fit, else round steps across the whole zoomed range', () => {
  const own = [-4, -2, 0, 2, 4];
  assert.deepEqual(axisTicks(own, -4, 4), own);
  assert.deepEqual(axisTicks(own, -2.5, 2.5), [-2, 0, 2]);
  assert.deepEqual(axisTicks(own, -2.5, 0.5), [-2.5, -2, -1.5, -1, -0.5, 0, 0.5]);  // not just -2 and 0
  // Zoomed on a small q(z|x): ticks reach both ends of the view (they used to stop after 8
  // steps of a too-fine scale, two thirds of the way along).
  for (const [lo, hi] of [[-2.1, -0.9], [1.6, 2.8], [0.3, 0.35], [2.01, 2.02], [-0.07, 0.95], [-3.3, 3.3]]) {
    const ticks = axisTicks(own, lo, hi), step = ticks[1] - ticks[0];
    assert.ok(ticks.length >= 2 && ticks.length <= 7, `${lo}..${hi}: ${ticks}`);
    assert.ok(ticks[0] - lo < step + 1e-9 && hi - ticks.at(-1) < step + 1e-9, `${lo}..${hi} not covered: ${ticks}`);
    const mantissa = step / Math.pow(10, Math.floor(Math.log10(step) + 1e-9));
    assert.ok([1, 2, 5].some((m) => Math.abs(mantissa - m) < 1e-6), `${lo}..${hi}: step ${step}`);
  }
});

test('views: garbage is the whole plane, a view outside is moved in, zoom keeps a square', () => {
  const plane = makePlane({ spacing: 'linear', lo: -4, hi: 4 });
  const whole = { x0: -4, x1: 4, y0: -4, y1: 4 };
  for (const bad of ['', 'nan,1,2,3', '1,2,3', '3,1,0,2', null]) assert.deepEqual(parseView(plane, bad), whole);
  assert.ok(isWhole(plane, parseView(plane, '')));
  // A view hanging over the right edge is moved inside, not shrunk.
  assert.deepEqual(parseView(plane, '3,5,0,2'), { x0: 2, x1: 4, y0: 0, y1: 2 });
  const zoomed = zoomView(plane, whole, [1, 1], 0.5);
  assert.deepEqual(zoomed, { x0: -1, x1: 3, y0: -1, y1: 3 });
  assert.ok(!isWhole(plane, zoomed));
  // Zooming out past the plane gives the whole plane back.
  assert.deepEqual(zoomView(plane, zoomed, [1, 1], 4), whole);
  assert.deepEqual(squareView(plane, 0, 0, 100), whole);
});

test('project: points map to pixels; clamped points beyond the view sit on its edge', () => {
  const plane = makePlane({ spacing: 'linear', lo: -4, hi: 4 });
  const view = parseView(plane, '');
  const px = project(plane, view, [0, 0, -4, 4, 9, -9], 200, 100);
  assert.deepEqual(Array.from(px.slice(0, 4)), [100, 50, 0, 0]);
  assert.ok(px[4] > 200 && px[5] > 100);  // unclamped: off the canvas (not drawn)
  const clamped = project(plane, view, [9, -9, 0, 0], 200, 100, 5);
  assert.deepEqual(Array.from(clamped), [195, 95, 100, 50]);
});

test('pictureBox places an extent within the view, in percent', () => {
  const view = { x0: -4, x1: 4, y0: -4, y1: 4 };
  assert.deepEqual(pictureBox(view, [-4, 4, -4, 4]), { left: 0, top: 0, width: 100, height: 100 });
  assert.deepEqual(pictureBox(view, [0, 4, 0, 2]), { left: 50, top: 25, width: 50, height: 25 });
  // Zoomed on the picture's top-left quarter: the picture is twice the view's size.
  assert.deepEqual(pictureBox({ x0: -4, x1: 0, y0: 0, y1: 4 }, [-4, 4, -4, 4]), { left: 0, top: 0, width: 200, height: 200 });
});

test('parsePoints splits a points file into coordinates and groups', () => {
  const xy = new Float32Array([0.5, -1, 2, 3, -0.25, 0.75]), g = new Uint8Array([1, 0, 1]);
  const file = new Uint8Array(xy.byteLength + g.byteLength);
  file.set(new Uint8Array(xy.buffer), 0); file.set(g, xy.byteLength);
  const pts = parsePoints(file.buffer, 3, 2);
  assert.deepEqual(Array.from(pts.xy), Array.from(xy));
  assert.deepEqual(pts.byGroup, [[1], [0, 2]]);
  assert.throws(() => parsePoints(file.buffer, 4, 2), /wrong size/);
});

test('legend: one entry per layer, one per group for grouped points; hidden layers start hidden', () => {
  const layers = [
    { kind: 'picture', name: 'manifold', legend: false },
    { kind: 'points', name: 'means', groups: ['0', '1'], colors: ['#a00', '#0a0'], visible: false },
    { kind: 'line', name: 'q 1σ', color: '#00f' },
  ];
  assert.deepEqual(legendEntries(layers).map((e) => [e.key, e.label, e.color]),
                   [['means#0', '0', '#a00'], ['means#1', '1', '#0a0'], ['q 1σ', 'q 1σ', '#00f']]);
  assert.deepEqual(initiallyHidden(layers), ['means#0', 'means#1']);
  assert.deepEqual(initiallyHidden([{ kind: 'line', name: 'q', visible: false }]), ['q']);
  // A marker's entry carries its symbol (its chip shows × for an × on the plane, not a dot).
  const marks = legendEntries([{ kind: 'markers', name: 'z ~ p(z)', color: '#f0f', symbol: 'x' },
                               { kind: 'markers', name: 'μ', color: '#0ff' }, { kind: 'line', name: 'q', color: '#00f' }]);
  assert.deepEqual(marks.map((e) => e.symbol), ['x', 'ring', undefined]);
});

// A decoder file written from the format's description (vae/export.py): b"LXDC", uint32 header
// length, JSON header padded with spaces to 4 bytes, then each layer's arrays, 4-byte aligned.
function decoderFile(header, arrays) {
  let text = new TextEncoder().encode(JSON.stringify(header));
  const padded = new Uint8Array(text.length + ((4 - (text.length % 4)) % 4)).fill(32);
  padded.set(text); text = padded;
  const parts = [new TextEncoder().encode('LXDC'), new Uint8Array(new Uint32Array([text.length]).buffer), text];
  for (const array of arrays) {
    const bytes = new Uint8Array(array.buffer, array.byteOffset, array.byteLength);
    const out = new Uint8Array(bytes.length + ((4 - (bytes.length % 4)) % 4));
    out.set(bytes); parts.push(out);
  }
  const file = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { file.set(p, at); at += p.length; }
  return file.buffer;
}

// A tiny decoder: z (2) + one-hot label (2) -> 3 hidden (act) -> 4 pixels (sigmoid). Its second
// layer can be stored as int8 k times a row scale: W2 = k2 * scale2 exactly.
const W1 = new Float32Array([0.5, -1, 0.25, 0, 2, 0.5, -0.5, 1, -1.5, 0.75, 0, 0.3]);  // [3, 4]
const b1 = new Float32Array([0.1, -0.2, 0.3]);
const k2 = new Int8Array([127, -127, 64, 20, 38, -64, -127, 127, 0, 127, 127, 127]);  // [4, 3]
const scale2 = new Float32Array([0.01, 0.02, 0.015, 0.003]);
const W2 = Float32Array.from(k2, (k, i) => Math.fround(k * scale2[Math.floor(i / 3)]));
const b2 = new Float32Array([0, 0.125, -0.125, 0.25]);
function spec(activation, second = 'f32') {
  const header = { format: FORMAT, version: 2, activation, output: 'sigmoid', latent_dim: 2, num_classes: 2, image_shape: [1, 2, 2],
                   layers: [{ in: 4, out: 3, dtype: 'f32' }, { in: 3, out: 4, dtype: second }] };
  return decoderFile(header, [W1, b1, ...(second === 'q8' ? [scale2, k2] : [W2]), b2]);
}

test('the decoder file is read back and runs as a plain forward pass, for every activation', () => {
  const fns = { elu: (s) => (s > 0 ? s : Math.exp(s) - 1), relu: (s) => Math.max(0, s), tanh: Math.tanh };
  assert.deepEqual(Object.keys(ACTIVATIONS).sort(), Object.keys(fns).sort());
  for (const [name, f] of Object.entries(fns)) {
    for (const second of ['f32', 'q8']) {
      const parsed = parseDecoder(spec(name, second));
      assert.deepEqual(Array.from(parsed.layers[1].W), Array.from(W2));  // int8 * scale: the same float32s
      assert.deepEqual(Array.from(parsed.layers[1].b), Array.from(b2));
      const dec = makeDecoder(parsed);
      assert.equal(dec.side, 2);
      for (const [z1, z2, label] of [[0.3, -1.2, 1], [-2, 2, 0], [1, 1, 7]]) {
        const x = [z1, z2, label === 0 || label === 7 ? 1 : 0, label === 1 ? 1 : 0];  // an invalid label is class 0
        const h = [0, 1, 2].map((o) => f(b1[o] + [0, 1, 2, 3].reduce((a, i) => a + W1[o * 4 + i] * x[i], 0)));
        const want = [0, 1, 2, 3].map((o) => 1 / (1 + Math.exp(-(b2[o] + [0, 1, 2].reduce((a, i) => a + W2[o * 3 + i] * h[i], 0)))));
        const got = Array.from(dec.forward(z1, z2, label));
        got.forEach((v, i) => close(v, want[i], 1e-6, `${name} ${second} pixel ${i}`));
      }
    }
  }
});

test('the decoder refuses what it cannot run or read', () => {
  assert.throws(() => makeDecoder(parseDecoder(spec('gelu'))), /unsupported/);
  assert.throws(() => parseDecoder(new TextEncoder().encode('PK\u0003\u0004 a zip').buffer), /not a decoder file/);
  assert.throws(() => parseDecoder(spec('elu').slice(0, 100)), /truncated/);
  const bad = parseDecoder(spec('elu'));
  bad.layers[0] = { ...bad.layers[0], out: 4 };
  assert.throws(() => makeDecoder(bad), /size mismatch/);
  assert.throws(() => makeDecoder({ ...parseDecoder(spec('elu')), version: 1 }), /unknown decoder format/);
});
