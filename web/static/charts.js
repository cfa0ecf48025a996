// Bar charts drawn as SVG elements: no library, no inline style (the
// page's CSP forbids it), colours from the stylesheet's classes. Each
// chart is an image with a label, and its data is in a table beside it.
'use strict';

const SVG = 'http://www.w3.org/2000/svg';

function svg(tag, attrs, text) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
  if (text !== undefined) e.textContent = text;
  return e;
}

// barChart draws rows [{label, value, title}] into container, one bar per
// row, vertical when horizontal is false.
function barChart(container, rows, opts) {
  const o = Object.assign({ width: 640, height: 240, horizontal: false, label: 'chart' }, opts || {});
  container.replaceChildren();
  if (!rows.some((r) => r.value > 0)) {
    container.append(el('p', { class: 'muted empty' }, 'No traffic in this range.'));
    return;
  }
  const max = Math.max(1, ...rows.map((r) => r.value));
  const root = svg('svg', { viewBox: '0 0 ' + o.width + ' ' + o.height, role: 'img', 'aria-label': o.label, class: 'bars', preserveAspectRatio: 'xMidYMid meet' });
  const pad = { top: 12, right: o.horizontal ? 64 : 12, bottom: 28, left: o.horizontal ? 150 : 48 };
  const w = o.width - pad.left - pad.right;
  const h = o.height - pad.top - pad.bottom;
  root.append(svg('text', { x: 4, y: 12, class: 'axis' }, fmtNumber(max)));
  if (o.horizontal) {
    const band = h / rows.length;
    rows.forEach((r, i) => {
      const y = pad.top + i * band;
      const bw = Math.max(1, (r.value / max) * w);
      const rect = svg('rect', { x: pad.left, y: y + band * 0.15, width: bw, height: band * 0.7, class: 'bar series-' + (i % 6) });
      rect.append(svg('title', {}, r.title || r.label + ': ' + fmtNumber(r.value)));
      root.append(rect,
        svg('text', { x: pad.left - 6, y: y + band / 2 + 4, class: 'label', 'text-anchor': 'end' }, truncate(r.label, 22)),
        svg('text', { x: pad.left + bw + 4, y: y + band / 2 + 4, class: 'value' }, fmtNumber(r.value)));
    });
  } else {
    const band = w / rows.length;
    const every = Math.ceil(rows.length / 8);
    rows.forEach((r, i) => {
      const x = pad.left + i * band;
      const bh = Math.max(1, (r.value / max) * h);
      const rect = svg('rect', { x: x + band * 0.1, y: pad.top + h - bh, width: Math.max(1, band * 0.8), height: bh, class: 'bar series-0' });
      rect.append(svg('title', {}, r.title || r.label + ': ' + fmtNumber(r.value)));
      root.append(rect);
      if (i % every === 0) root.append(axisLabel(x + band / 2, o.height - 8, o.width, r.label));
    });
  }
  root.append(svg('line', { x1: pad.left, y1: pad.top + h, x2: pad.left + w, y2: pad.top + h, class: 'axis-line' }));
  container.append(root);
}

// labelWidth estimates a label's width at the charts' 11px font, in
// viewBox units; wide enough for digits and letters alike.
function labelWidth(s) {
  return String(s).length * 6.6;
}

// axisLabel is an x-axis label centred under its bar, unless that would
// cut it at either edge of the chart: then it lines up with the edge.
function axisLabel(x, y, width, text) {
  const half = labelWidth(text) / 2;
  let anchor = 'middle';
  if (x + half > width - 2) { x = width - 2; anchor = 'end'; }
  else if (x - half < 2) { x = 2; anchor = 'start'; }
  return svg('text', { x, y, class: 'label', 'text-anchor': anchor }, text);
}

function truncate(s, n) {
  return s.length > n ? s.slice(0, n - 1) + '…' : s;
}
