"""Compress: a digit coded losslessly with the model's p(x) (a range coder driven by the exact
2-D marginal), its stream beside -log2 p(x) and the general-purpose codecs, the bits spent on
each pixel, the round trip checked bit-exact; and a lossy mode that sends only a quantised z."""

import numpy as np
import streamlit as st

from ui.charts import show_chart
from ui.shell import page_header
from ui.widgets import require_unconditional
from ui.images import required_image, show_digit
from ui.models import quadrature_grid
from ui.tables import show_table
from ui.tasks import coding_table_for, rate_distortion_curve
from vae import codecs, data
from vae.compress import BYTE_ROUNDING_BITS, HEADER_BYTES, as_bits, decode, encode
from vae.lossy import RD_BITS, RD_DIGITS, quantise_z, rate_distortion
from vae.figures import pixel_map_figure, rate_distortion_figure
from vae.latent import decode_one, encode_images
from vae.quadrature import quadrature_log_px

handle = page_header(
    "Compress",
    "A model that gives every image a probability is a compressor: an entropy coder spends "
    "−log₂ p(x) bits on x. Here a range coder codes the digit pixel by pixel, each pixel under "
    "p(xᵢ | the pixels before it) from the exact 2-D marginal (p(z|x) summed over a grid, no "
    "ELBO gap), and the decoder, with the same model, gets every pixel back.",
)
require_unconditional(handle, "A conditional VAE gives p(x | digit), not p(x).")

inp = required_image("cmp", default_index=0, query_param="i", model=handle.model)
how = st.radio("Binarise", ["at 0.5", "Bernoulli draw (seed 0), as in evaluation"], key="cmp_binarize",
               horizontal=True, help="The model is a distribution over black-and-white images. At 0.5: "
                                     "what `python -m vae.compress encode` does. A Bernoulli draw: how "
                                     "the benchmark's test digits (binarised MNIST) are made.")
bits = as_bits(inp.x if how == "at 0.5" else data.binarize(inp.x, 0)).reshape(28, 28)  # uint8 {0, 1}

table = coding_table_for(handle)
enc = encode(table, bits)
back = decode(table, enc.stream)
exact_bits = -float(quadrature_log_px(handle.model, bits[None].astype(np.float32), quadrature_grid(handle))[0]) / np.log(2)

cols = st.columns(4)
with cols[0]:
    show_digit(inp.x, f"{inp.source}", size=112)
with cols[1]:
    show_digit(bits.astype(np.float32), "binarised: what is coded", size=112)
with cols[2]:
    show_digit(back.astype(np.float32), "decoded from the stream", size=112)
    if np.array_equal(back, bits):
        st.success("Bit-exact: all 784 pixels match.", icon=":material/check_circle:")
    else:  # never expected: the tests round-trip thousands of digits
        st.error(f"Round trip failed: {int((back != bits).sum())} pixels differ.")
with cols[3]:
    st.metric("Stream", f"{len(enc.stream)} bytes", help=f"{HEADER_BYTES}-byte header (magic, version, model "
              "id, a check of the image) + the coder's payload")
    st.metric("Payload", f"{enc.payload_bits} bits", f"{enc.payload_bits - exact_bits:+.1f} bits vs −log₂ p(x)",
              delta_color="off", help=f"The coder's {enc.information_bits:.1f} bits rounded up to whole bytes (a "
              f"file cannot end mid-byte): {BYTE_ROUNDING_BITS:.2f} bits more on average, ~1.4 % of a digit. "
              "Many digits coded as one stream (`python -m vae.compress encode IMAGE... -o DIR --one-stream "
              "NAME`) pay that rounding once: the 10,000 test digits as one stream come to about 0.1 % above −log₂ p(x).")
    st.metric("−log₂ p(x), exact", f"{exact_bits:.1f} bits", help="log p(x) by quadrature over the latent "
              "plane (Posterior page), in bits: the length an ideal coder would reach.")

st.markdown(f"**The stream** ({len(enc.stream)} bytes; the first {HEADER_BYTES} are the header)")
st.code(" ".join(enc.stream[i : i + 1].hex() for i in range(len(enc.stream))), language=None, wrap_lines=True)
st.download_button("Download the stream", enc.stream, file_name="digit.lxz", mime="application/octet-stream",
                   icon=":material/download:", key="cmp_download",
                   help="Decode it with `python -m vae.compress decode digit.lxz -o out/` and the same model.")

left, right = st.columns(2)
with left:
    show_chart(pixel_map_figure(enc.pixel_bits, f"Bits spent on each pixel: {enc.information_bits:.1f} in all",
                                     "bits"), key="cmp_cost")
    st.caption("−log₂ of the probability the coder gave each pixel's actual value. Background the "
               "model expects is nearly free; the bits go to the stroke's edges, where the digit "
               "could have gone either way.")
with right:
    sizes = codecs.sizes(bits)
    rows = [("this model's coder (stream)", len(enc.stream)), ("  its payload", enc.payload_bits / 8),
            ("ideal: −log₂ p(x)", exact_bits / 8), *sizes.items(), ("raw: 784 bits", 98)]
    show_table(["coder", "bytes", "bits per pixel"],
               [(name.replace("  ", "\u2003"), f"{size:.1f}" if isinstance(size, float) else str(size),
                 f"{8 * size / 784:.3f}") for name, size in rows], align=["left", "right", "right"])
    st.caption("The general codecs at their strongest settings (PNG 1-bit, gzip -9, bz2 -9, xz -9e, "
               "WebP lossless). On one digit their headers alone outweigh our whole stream; on a "
               "whole set they do better (see the README's benchmark).")

st.subheader("Lossy: send only z")
b = st.slider("Bits per axis of z", 1, 10, 4, key="cmp_lossy_bits",
              help="z = μ of q(z|x), each axis cut into 2^b bins of equal prior mass; 2b bits in all.")
mu, _ = encode_images(handle.model, bits[None].astype(np.float32))
_, z_hat = quantise_z(mu[0], b)
x_hat = decode_one(handle.model, z_hat)
cols = st.columns([1, 1, 3])
with cols[0]:
    show_digit(bits.astype(np.float32), "the digit", size=112)
with cols[1]:
    wrong = int(((x_hat >= 0.5) != (bits == 1)).sum())
    show_digit(x_hat, f"E[x | z] from {2 * b} bits: {wrong} pixels wrong", size=112)
with cols[2]:
    curve = rate_distortion_curve(handle)
    mine = rate_distortion(handle.model, bits[None], RD_BITS)
    show_chart(rate_distortion_figure(curve["bits"], 100 * curve["wrong"], 100 * mine["wrong"],
                                           float(enc.payload_bits), 100 * float(curve["wrong_mu"][0])),
                    key="cmp_rd")
st.caption(f"Mean over the first {RD_DIGITS} binarised test digits. A 2-D code saturates fast: past "
           "about 6 bits per axis the error is the decoder's own (a 2-D latent cannot hold every "
           "stroke), and only the lossless stream gets every pixel right.")
