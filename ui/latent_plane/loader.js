// The component's inline code, sent by Streamlit with every rerun that shows a plane: kept tiny on
// purpose. The plane itself (plane.js, ~37 kB) is a content-hashed static file fetched once per
// browser (HTTP cache, ETag) and imported once per page; every later render reuses the module.
// Streamlit serves static files as text/plain with nosniff, so the text is imported through a
// Blob URL of type text/javascript rather than by `import(url)`.
const modules = (globalThis.__latentPlaneModules ||= new Map());  // URL -> Promise<module>

function load(url) {
  let promise = modules.get(url);
  if (!promise) {
    promise = fetch(url)
      .then((r) => { if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`); return r.text(); })
      .then((text) => import(URL.createObjectURL(new Blob([text], { type: 'text/javascript' }))));
    promise.catch(() => modules.delete(url));  // a failed fetch is retried on the next render
    modules.set(url, promise);
  }
  return promise;
}

export default function (component) {
  const url = component.data && component.data.plane_js;
  let cleanup = null, superseded = false;
  load(url).then((module) => {
    if (!superseded) cleanup = module.default(component);
  }, (error) => {
    const root = component.parentElement.querySelector('.lp');
    if (root) root.textContent = `The latent plane could not load (${error.message}); reload the page.`;
  });
  // Streamlit calls this cleanup for a superseded render too; plane.js's own cleanup tells apart
  // an unmount from a re-render (it tears down only a root that left the page).
  return () => { superseded = true; if (typeof cleanup === 'function') cleanup(); };
}
