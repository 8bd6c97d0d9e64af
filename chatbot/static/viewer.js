// The hpsr-chat source viewer: the cited page of a PDF (pdf.js with its text layer) or the text
// of a .txt/.md document, the quoted sentences highlighted. Everything it loads is served by the
// chat itself. When it is done, #status carries data-page, data-highlight (the highlighted text)
// and data-ms (time to open), which the browser tests read.
const params = new URLSearchParams(location.search);
const doc = params.get("doc") || "";
const page = Math.max(1, parseInt(params.get("page") || "1", 10) || 1);
const quotes = params.getAll("q").filter((q) => q.trim());
const status = document.getElementById("status");
const view = document.getElementById("view");
const t0 = performance.now();

// Letters and digits only, lowercase, compatibility-normalised ("ﬁ" -> "fi"): a quote matches the
// page whatever its line breaks, hyphenation, spacing, quotes or footnote brackets.
function squeeze(text) {
  const chars = [];
  const index = [];
  const norm = text.normalize("NFKC").toLowerCase();
  for (let i = 0; i < norm.length; i++) {
    if (/[\p{L}\p{N}]/u.test(norm[i])) { chars.push(norm[i]); index.push(i); }
  }
  return { text: chars.join(""), index };
}

// Where a quote is in `full` (squeezed): [start, end) in squeezed characters, or null. A quote that
// runs off the page or across columns is looked for by its longest head or tail that is there.
function find(full, quote) {
  const q = squeeze(quote).text;
  if (!q) return null;
  let at = full.indexOf(q);
  if (at >= 0) return [at, at + q.length];
  for (let n = q.length - 1; n >= Math.min(40, q.length); n--) {
    at = full.indexOf(q.slice(0, n));
    if (at >= 0) return [at, at + n];
    at = full.indexOf(q.slice(q.length - n));
    if (at >= 0) return [at, at + n];
  }
  return null;
}

function finish(where, highlighted, missed) {
  status.dataset.page = String(where);
  status.dataset.highlight = highlighted;
  status.dataset.ms = String(Math.round(performance.now() - t0));
  status.dataset.done = "1";
  if (missed) {
    status.classList.add("miss");
    status.textContent = "The quoted words were not found on this page; it is shown as cited.";
  } else {
    status.textContent = quotes.length ? "The quoted sentences are highlighted." : "";
  }
}

async function showPdf(pdfjs) {
  pdfjs.GlobalWorkerOptions.workerSrc = "/hpsr/pdfjs/build/pdf.worker.min.mjs";
  const pdf = await pdfjs.getDocument({
    url: `/hpsr/doc/${encodeURIComponent(doc)}`, isEvalSupported: false,
    cMapUrl: "/hpsr/pdfjs/cmaps/", cMapPacked: true, standardFontDataUrl: "/hpsr/pdfjs/standard_fonts/",
  }).promise;
  const n = Math.min(page, pdf.numPages);
  const p = await pdf.getPage(n);
  const viewport = p.getViewport({ scale: 1.5 });
  const box = document.createElement("div");
  box.className = "page";
  box.style.width = `${viewport.width}px`;
  box.style.height = `${viewport.height}px`;
  box.style.setProperty("--scale-factor", String(viewport.scale));
  const canvas = document.createElement("canvas");
  canvas.width = viewport.width;
  canvas.height = viewport.height;
  const layer = document.createElement("div");
  layer.className = "textLayer";
  box.append(canvas, layer);
  view.append(box);
  await p.render({ canvasContext: canvas.getContext("2d"), viewport }).promise;
  const text = new pdfjs.TextLayer({ textContentSource: await p.getTextContent(), container: layer, viewport });
  await text.render();
  const spans = [...layer.querySelectorAll("span")].filter((s) => !s.querySelector("span"));
  // The page's text, squeezed, with the span each squeezed character comes from.
  let full = "";
  const owner = [];
  spans.forEach((span, k) => {
    const s = squeeze(span.textContent).text;
    full += s;
    for (let i = 0; i < s.length; i++) owner.push(k);
  });
  const marked = new Set();
  let missed = false;
  for (const quote of quotes) {
    const hit = find(full, quote);
    if (!hit) { missed = true; continue; }
    for (let i = hit[0]; i < hit[1]; i++) marked.add(owner[i]);
  }
  const lit = [...marked].sort((a, b) => a - b).map((k) => spans[k]);
  lit.forEach((span) => span.classList.add("hl"));
  if (lit.length) lit[0].scrollIntoView({ block: "center" });
  finish(n, lit.map((s) => s.textContent).join(" "), missed || (quotes.length > 0 && !lit.length));
}

async function showText() {
  const response = await fetch(`/hpsr/doc/${encodeURIComponent(doc)}`);
  if (!response.ok) throw new Error(`the document could not be fetched (${response.status})`);
  const text = await response.text();
  const { text: full, index } = squeeze(text);
  const ranges = [];
  let missed = false;
  for (const quote of quotes) {
    const hit = find(full, quote);
    if (!hit) { missed = true; continue; }
    ranges.push([index[hit[0]], index[hit[1] - 1] + 1]);
  }
  ranges.sort((a, b) => a[0] - b[0]);
  const pre = document.createElement("pre");
  pre.className = "text";
  let pos = 0;
  const lit = [];
  for (const [start, end] of ranges) {
    if (start < pos) continue;
    pre.append(document.createTextNode(text.slice(pos, start)));
    const mark = document.createElement("mark");
    mark.textContent = text.slice(start, end);  // text, never HTML
    pre.append(mark);
    lit.push(mark);
    pos = end;
  }
  pre.append(document.createTextNode(text.slice(pos)));
  view.append(pre);
  if (lit.length) lit[0].scrollIntoView({ block: "center" });
  finish(page, lit.map((m) => m.textContent).join(" "), missed || (quotes.length > 0 && !lit.length));
}

async function main() {
  const response = await fetch(`/hpsr/meta/${encodeURIComponent(doc)}?page=${page}`);
  if (!response.ok) {
    document.getElementById("title").textContent = "This document is not in the index.";
    status.dataset.done = "1";
    status.dataset.error = String(response.status);
    return;
  }
  const meta = await response.json();
  document.getElementById("title").textContent = meta.title;
  document.title = `${meta.title} · hpsr-chat`;
  if (meta.kind === "pdf") {
    // The number printed on the page, and the PDF's own where they differ: "p. 13 (PDF p. 29)".
    const printed = meta.label && meta.label !== String(page) ? `p. ${meta.label} (PDF p. ${page})` : `p. ${page}`;
    document.getElementById("where").textContent = printed;
    if (!meta.pdfjs) {  // pdf.js not installed: the browser's own viewer, at the page
      location.replace(`/hpsr/doc/${encodeURIComponent(doc)}#page=${page}`);
      return;
    }
    await showPdf(await import("/hpsr/pdfjs/build/pdf.min.mjs"));
  } else {
    await showText();
  }
}

main().catch((error) => {
  status.classList.add("miss");
  status.textContent = `The source could not be shown: ${error.message}`;
  status.dataset.error = error.message;
  status.dataset.done = "1";
});
