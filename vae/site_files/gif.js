// A small GIF89a encoder for grey pictures: frames of 8-bit grey levels -> the bytes of an
// animated GIF (one global palette of the 256 greys, so a level is its own palette index;
// LZW-compressed; loops for ever). Used by the static explorer (vae/site.py, site.js) to turn
// an interpolation into a download without a server; pure, tested by tests/js/site_gif.test.mjs
// and, decoded by Pillow, by tests/test_site.py.

const MAX_CODE = 4096;  // GIF's LZW codes are at most 12 bits

// Bits packed least-significant first into bytes, as GIF's LZW stream wants them.
function bitWriter() {
  const bytes = [];
  let acc = 0, n = 0;
  return {
    put(code, size) {
      acc |= code << n; n += size;
      while (n >= 8) { bytes.push(acc & 0xff); acc >>>= 8; n -= 8; }
    },
    done() { if (n > 0) bytes.push(acc & 0xff); acc = 0; n = 0; return Uint8Array.from(bytes); },
  };
}

// Palette indices (each < 2**minCodeSize) -> GIF's variable-width LZW code stream (clear code
// first, end-of-information last), before it is cut into sub-blocks.
export function lzwEncode(indices, minCodeSize = 8) {
  if (!(minCodeSize >= 2 && minCodeSize <= 8)) throw new Error('gif: minimum code size must be 2..8');
  const clear = 1 << minCodeSize, eoi = clear + 1, out = bitWriter();
  let table = new Map(), next = eoi + 1, size = minCodeSize + 1;
  out.put(clear, size);
  if (indices.length === 0) { out.put(eoi, size); return out.done(); }
  let prefix = indices[0];
  if (prefix >= clear) throw new Error('gif: index out of the palette');
  for (let i = 1; i < indices.length; i++) {
    const k = indices[i];
    if (k >= clear) throw new Error('gif: index out of the palette');
    const key = prefix * 256 + k;  // (code, next index) -> code
    const found = table.get(key);
    if (found !== undefined) { prefix = found; continue; }
    out.put(prefix, size);
    if (next === MAX_CODE) {  // the table is full: start afresh
      out.put(clear, size);
      table = new Map(); next = eoi + 1; size = minCodeSize + 1;
    } else {
      // The decoder learns each code one step later: widen just before the first code that
      // would not fit in `size` bits is made.
      if (next >= (1 << size)) size += 1;
      table.set(key, next++);
    }
    prefix = k;
  }
  out.put(prefix, size);
  out.put(eoi, size);
  return out.done();
}

// Bytes -> GIF data sub-blocks (a length byte, up to 255 bytes; a zero length ends them).
export function subBlocks(bytes) {
  const out = new Uint8Array(bytes.length + Math.ceil(bytes.length / 255) + 1);
  let at = 0;
  for (let i = 0; i < bytes.length; i += 255) {
    const chunk = bytes.subarray(i, Math.min(i + 255, bytes.length));
    out[at++] = chunk.length; out.set(chunk, at); at += chunk.length;
  }
  out[at++] = 0;
  return out.subarray(0, at);
}

const u16 = (v) => [v & 0xff, (v >> 8) & 0xff];

// frames: grey levels (Uint8Array of width * height each, row-major) -> an animated GIF's bytes.
// delayMs: each frame's time on screen (GIF counts hundredths of a second); loop 0: for ever.
export function encodeGif(frames, width, height, { delayMs = 120, loop = 0 } = {}) {
  if (!frames.length) throw new Error('gif: no frames');
  if (!(width >= 1 && height >= 1 && width < 65536 && height < 65536)) throw new Error('gif: bad size');
  const parts = [];
  const ascii = (s) => Array.from(s, (c) => c.charCodeAt(0));
  // Header, logical screen (global palette of 2**8 colours, 8 bits per primary), the palette.
  parts.push(Uint8Array.from([...ascii('GIF89a'), ...u16(width), ...u16(height), 0xf7, 0, 0]));
  const palette = new Uint8Array(256 * 3);
  for (let g = 0; g < 256; g++) palette.set([g, g, g], 3 * g);
  parts.push(palette);
  // NETSCAPE2.0: how many times to play (0: for ever).
  parts.push(Uint8Array.from([0x21, 0xff, 0x0b, ...ascii('NETSCAPE2.0'), 3, 1, ...u16(loop), 0]));
  const delay = Math.max(0, Math.round(delayMs / 10));
  for (const frame of frames) {
    if (frame.length !== width * height) throw new Error('gif: a frame of the wrong size');
    // Graphic control: leave the frame in place (disposal 1), the delay, no transparency.
    parts.push(Uint8Array.from([0x21, 0xf9, 4, 0x04, ...u16(delay), 0, 0]));
    // The image: the whole screen, no local palette, not interlaced.
    parts.push(Uint8Array.from([0x2c, 0, 0, 0, 0, ...u16(width), ...u16(height), 0, 8]));
    parts.push(subBlocks(lzwEncode(frame, 8)));
  }
  parts.push(Uint8Array.from([0x3b]));
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
