// The component's inline code, sent by Streamlit with every rerun that shows a plane: kept tiny on
// purpose. The plane itself (plane.js ~37 kB, plane.css ~7 kB) is content-hashed static files
// fetched once per browser (HTTP cache, ETag) and loaded once per page; every later render reuses
// them. Streamlit serves static files as text/plain with nosniff, so the script is imported
// through a Blob URL of type text/javascript (not `import(url)`), the style adopted as a
// constructed sheet. The inline CSS keeps the plane hidden until its own sheet applies.
const cache = (globalThis.__latentPlaneFiles ||= new Map());  // URL -> Promise<module | sheet>

function once(url, make) {
  let promise = cache.get(url);
  if (!promise) {
    promise = fetch(url)
      .then((r) => { if (!r.ok) throw new Error(`${url}: HTTP ${r.status}`); return r.text(); })
      .then(make);
    promise.catch(() => cache.delete(url));  // a failed fetch is retried on the next render
    cache.set(url, promise);
  }
  return promise;
}

const script = (text) => import(URL.createObjectURL(new Blob([text], { type: 'text/javascript' })));
const style = (text) => { const sheet = new CSSStyleSheet(); sheet.replaceSync(text); return sheet; };

export default function (component) {
  const { data, parentElement } = component;
  let cleanup = null, superseded = false;
  Promise.all([once(data.plane_js, script), once(data.plane_css, style)]).then(([module, sheet]) => {
    const root = parentElement.querySelector('.lp'), scope = root && root.getRootNode();
    if (scope && !scope.adoptedStyleSheets.includes(sheet)) {
      scope.adoptedStyleSheets = [...scope.adoptedStyleSheets, sheet];
    }
    if (root) root.classList.add('styled');
    if (!superseded) cleanup = module.default(component);
  }, (error) => {
    const root = component.parentElement.querySelector('.lp');
    if (root) root.textContent = `The latent plane could not load (${error.message}); reload the page.`;
  });
  // Streamlit calls this cleanup for a superseded render too; plane.js's own cleanup tells apart
  // an unmount from a re-render (it tears down only a root that left the page).
  return () => { superseded = true; if (typeof cleanup === 'function') cleanup(); };
}
