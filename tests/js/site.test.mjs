// Unit tests for the static explorer's pure parts (vae/site_files/site.js), on node's runner.
// tests/test_site.py also compares `interpolate` with vae.latent.interpolate.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { bounce, formatMetric, greyLevels, interpolate, pathLayer, strip, upscale, zText } from '../../vae/site_files/site.js';

const close = (a, b, tol = 1e-12) => assert.ok(Math.abs(a - b) <= tol, `${a} vs ${b}`);

test('linear interpolation: evenly spaced, both ends included', () => {
  const path = interpolate([0, -2], [3, 4], 4, 'linear');
  assert.equal(path.length, 4);
  [[0, -2], [1, 0], [2, 2], [3, 4]].forEach(([x, y], i) => { close(path[i][0], x, 1e-12); close(path[i][1], y, 1e-12); });
  assert.deepEqual(path[0], [0, -2]); assert.deepEqual(path[3], [3, 4]);  // the ends exactly
  assert.throws(() => interpolate([0, 0], [1, 1], 1), /steps/);
  assert.throws(() => interpolate([0, 0], [1, 1], 3, 'cubic'), /method/);
});

test('slerp in 2-D: the radius changes linearly while the angle turns evenly', () => {
  const a = [2, 0], b = [0, 4], path = interpolate(a, b, 5, 'slerp');
  path.forEach(([x, y], i) => {
    const t = i / 4;
    close(Math.hypot(x, y), 2 + 2 * t, 1e-9);
    close(Math.atan2(y, x), t * Math.PI / 2, 1e-9);
  });
  // Through the origin there is no direction: a straight line.
  assert.deepEqual(interpolate([0, 0], [2, 2], 3, 'slerp'), interpolate([0, 0], [2, 2], 3, 'linear'));
});

test('grey levels, enlargement, strip and bounce as vae/render.py makes them', () => {
  assert.deepEqual([...greyLevels([-1, 0, 0.5, 1, 2, 0.999])], [0, 0, 128, 255, 255, 255]);
  assert.deepEqual([...upscale(Uint8Array.from([1, 2, 3, 4]), 2, 2, 2)],
    [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
  const s = strip([Uint8Array.from([1, 2, 3, 4]), Uint8Array.from([5, 6, 7, 8])], 2, 1);
  assert.equal(s.width, 5); assert.equal(s.height, 2);
  assert.deepEqual([...s.pixels], [1, 2, 0, 5, 6, 3, 4, 0, 7, 8]);
  assert.deepEqual(bounce([1, 2, 3, 4]), [1, 2, 3, 4, 3, 2]);
  assert.deepEqual(bounce([1, 2]), [1, 2]);
});

test('the path layer is the data vae.plane.path writes; texts and metrics read well', () => {
  const layer = pathLayer([[0, 0], [0.123456, -1]], 'linear');
  assert.equal(layer.kind, 'path');
  assert.deepEqual(layer.xy, [0, 0, 0.1235, -1]);
  assert.deepEqual(layer.ends, ['A', 'B']);
  assert.equal(zText([0.5, -1.234]), '(+0.50, −1.23)');
  assert.equal(formatMetric('test_elbo', -142.81117), '-142.81 nats');
  assert.equal(formatMetric('test_knn5_accuracy', 0.8201), '82.0 %');
  assert.equal(formatMetric('test_n_images', 10000), '10,000');
  assert.equal(formatMetric('test_eval_time_s', 1543.3), '1543.3 s');
  assert.equal(formatMetric('note', 'text'), 'text');
});
