"""A drawing canvas (st.components.v2, inline HTML/JS, no network): white ink on black, like
MNIST. On each pen lift it sends the drawing to Python as a PNG data URL; Python turns that
into bytes and hands it to vae.preprocess like any upload."""

from __future__ import annotations

import base64

import streamlit as st

MAX_DATA_URL_CHARS = 2_000_000  # a 280x280 PNG is ~10 kB; anything near this is not ours
_PREFIX = "data:image/png;base64,"

_HTML = """
<div class="pad">
  <canvas width="280" height="280" data-testid="draw-canvas" aria-label="Drawing area: draw a digit"></canvas>
  <div class="row"><button type="button" class="clear">Clear</button>
  <span class="hint">Draw one digit, large, in the middle.</span></div>
</div>
"""

_CSS = """
.pad { display: inline-block; }
canvas { background: #000; border-radius: 6px; touch-action: none; cursor: crosshair; display: block; }
.row { margin-top: 6px; display: flex; gap: 10px; align-items: center; font: 14px sans-serif; }
button { padding: 4px 12px; border-radius: 6px; border: 1px solid #bbb; background: #fff; cursor: pointer; }
.hint { color: #666; }
"""

_JS = """
export default function(component) {
  const { parentElement, setStateValue } = component;
  const canvas = parentElement.querySelector('canvas');
  const ctx = canvas.getContext('2d');
  if (!canvas.dataset.ready) {
    canvas.dataset.ready = '1';
    ctx.fillStyle = '#000'; ctx.fillRect(0, 0, canvas.width, canvas.height);
  }
  ctx.strokeStyle = '#fff'; ctx.lineWidth = 26; ctx.lineCap = 'round'; ctx.lineJoin = 'round';
  let drawing = false, last = null;
  const pos = (e) => { const r = canvas.getBoundingClientRect();
    return [(e.clientX - r.left) * canvas.width / r.width, (e.clientY - r.top) * canvas.height / r.height]; };
  const down = (e) => { drawing = true; last = pos(e); canvas.setPointerCapture(e.pointerId);
    ctx.beginPath(); ctx.arc(last[0], last[1], ctx.lineWidth / 2, 0, 2 * Math.PI); ctx.fillStyle = '#fff'; ctx.fill(); };
  const move = (e) => { if (!drawing) return; const p = pos(e);
    ctx.beginPath(); ctx.moveTo(last[0], last[1]); ctx.lineTo(p[0], p[1]); ctx.stroke(); last = p; };
  const up = () => { if (!drawing) return; drawing = false; setStateValue('png', canvas.toDataURL('image/png')); };
  const clear = () => { ctx.fillStyle = '#000'; ctx.fillRect(0, 0, canvas.width, canvas.height); setStateValue('png', ''); };
  canvas.addEventListener('pointerdown', down);
  canvas.addEventListener('pointermove', move);
  canvas.addEventListener('pointerup', up);
  canvas.addEventListener('pointerleave', up);
  const button = parentElement.querySelector('button.clear');
  button.addEventListener('click', clear);
  return () => {
    canvas.removeEventListener('pointerdown', down); canvas.removeEventListener('pointermove', move);
    canvas.removeEventListener('pointerup', up); canvas.removeEventListener('pointerleave', up);
    button.removeEventListener('click', clear);
  };
}
"""

_canvas = st.components.v2.component("latent_explorer.draw_canvas", html=_HTML, css=_CSS, js=_JS)


def drawing_canvas(key: str) -> bytes | None:
    """Show the canvas; returns the latest drawing as PNG bytes, or None if nothing is drawn."""
    result = _canvas(key=key, default={"png": ""}, on_png_change=lambda: None, height=330)
    data_url = getattr(result, "png", "") or ""
    if not data_url:
        return None
    if len(data_url) > MAX_DATA_URL_CHARS or not data_url.startswith(_PREFIX):
        st.error("The drawing could not be read; press Clear and draw again.")
        return None
    try:
        return base64.b64decode(data_url[len(_PREFIX):], validate=True)
    except ValueError:
        st.error("The drawing could not be read; press Clear and draw again.")
        return None
