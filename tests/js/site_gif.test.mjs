// Unit tests for the static explorer's GIF encoder (vae/site_files/gif.js), on node's runner:
// `node --test tests/js/`. The LZW stream is checked with an independent decoder written here
// from the GIF89a specification (section 22 and appendix F); tests/test_site.py also has
// Pillow decode a whole GIF.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeGif, lzwEncode, subBlocks } from '../../vae/site_files/gif.js';

// GIF's variable-length-code LZW, decoded: codes LSB first, clear resets, EOI ends.
function lzwDecode(bytes, minCodeSize) {
  const clear = 1 << minCodeSize, eoi = clear + 1, out = [];
  let size = minCodeSize + 1, dict = [], prev = null, pos = 0;
  const reset = () => { dict = Array.from({ length: clear + 2 }, (_, i) => (i < clear ? [i] : null)); size = minCodeSize + 1; prev = null; };
  const read = () => {
    let code = 0;
    for (let i = 0; i < size; i++, pos++) {
      if ((pos >> 3) >= bytes.length) throw new Error('ran out of bits');
      code |= ((bytes[pos >> 3] >> (pos & 7)) & 1) << i;
    }
    return code;
  };
  reset();
  for (;;) {
    const code = read();
    if (code === clear) { reset(); continue; }
    if (code === eoi) return out;
    let entry;
    if (code < dict.length && dict[code]) entry = dict[code];
    else if (code === dict.length && prev) entry = [...prev, prev[0]];
    else throw new Error(`bad code ${code}`);
    out.push(...entry);
    if (prev && dict.length < 4096) dict.push([...prev, entry[0]]);
    if (dict.length === (1 << size) && size < 12) size += 1;
    prev = entry;
  }
}

function unblock(blocks) {  // sub-blocks -> bytes, checking the terminator
  const out = [];
  let at = 0;
  while (blocks[at] !== 0) { const n = blocks[at]; out.push(...blocks.subarray(at + 1, at + 1 + n)); at += 1 + n; }
  assert.equal(at, blocks.length - 1, 'one zero-length block ends the data');
  return Uint8Array.from(out);
}

test('LZW round-trips: constant, ramp, noise and a table that fills up (clear codes)', () => {
  let seed = 7;
  const rand = () => { seed = (seed * 1103515245 + 12345) >>> 0; return seed >>> 24; };
  const cases = {
    one: [5], empty: [], constant: new Array(5000).fill(200), ramp: Array.from({ length: 3000 }, (_, i) => i % 256),
    noise: Array.from({ length: 40_000 }, rand),  // enough new strings to fill 4096 codes many times
  };
  for (const [name, data] of Object.entries(cases)) {
    const got = lzwDecode(lzwEncode(Uint8Array.from(data), 8), 8);
    assert.deepEqual(got, data, name);
  }
  // Smaller palettes: 2-bit indices.
  const small = Array.from({ length: 999 }, (_, i) => (i * 7) % 4);
  assert.deepEqual(lzwDecode(lzwEncode(Uint8Array.from(small), 2), 2), small);
  assert.throws(() => lzwEncode(Uint8Array.from([4]), 2), /palette/);
});

test('constant pictures compress: LZW codes cover ever longer runs', () => {
  assert.ok(lzwEncode(new Uint8Array(112 * 112), 8).length < 400);
});

test('sub-blocks hold at most 255 bytes and end with a zero-length block', () => {
  for (const n of [0, 1, 254, 255, 256, 1000]) {
    const bytes = Uint8Array.from({ length: n }, (_, i) => i & 0xff);
    const blocks = subBlocks(bytes);
    assert.equal(blocks.length, n + Math.ceil(n / 255) + 1);
    assert.deepEqual(unblock(blocks), bytes);
  }
});

test('a GIF: header, grey palette, looping, one image per frame with its delay, trailer', () => {
  const w = 3, h = 2, frames = [Uint8Array.from([0, 50, 100, 150, 200, 255]), Uint8Array.from([9, 9, 9, 9, 9, 9])];
  const gif = encodeGif(frames, w, h, { delayMs: 120 });
  const text = (a, b) => String.fromCharCode(...gif.subarray(a, b));
  assert.equal(text(0, 6), 'GIF89a');
  assert.equal(gif[6] | (gif[7] << 8), w); assert.equal(gif[8] | (gif[9] << 8), h);
  assert.equal(gif[10], 0xf7, 'a global palette of 256 colours');
  for (const g of [0, 77, 255]) assert.deepEqual([...gif.subarray(13 + 3 * g, 16 + 3 * g)], [g, g, g]);
  let at = 13 + 768;
  assert.equal(text(at + 3, at + 14), 'NETSCAPE2.0'); at += 19;
  for (const frame of frames) {
    assert.deepEqual([...gif.subarray(at, at + 3)], [0x21, 0xf9, 4]);
    assert.equal(gif[at + 4] | (gif[at + 5] << 8), 12, 'hundredths of a second');
    at += 8;
    assert.equal(gif[at], 0x2c); at += 10;
    assert.equal(gif[at], 8); at += 1;  // minimum code size
    let end = at;
    while (gif[end] !== 0) end += 1 + gif[end];
    assert.deepEqual(lzwDecode(unblock(gif.subarray(at, end + 1)), 8), [...frame]);
    at = end + 1;
  }
  assert.equal(gif[at], 0x3b); assert.equal(at, gif.length - 1);
  assert.throws(() => encodeGif([], 1, 1), /no frames/);
  assert.throws(() => encodeGif([new Uint8Array(3)], 2, 2), /wrong size/);
});
