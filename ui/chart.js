// The contour chart of ui/chart.py: two Plotly graphs stacked in one box. The lower one holds the
// contour, the axes and the colour bar and is redrawn only when they change; the upper one, transparent
// and pinned to the lower one's plot area, holds the runs, the minima and the legend. A "base" element
// brings the contour and the order of the runs; each run comes in a "layer" element of its own, written
// by its optimizer's panel, so a panel rerun on its own redraws only the upper graph.
//
// data: {kind: "base", chart, src, fig, order, critical}   (a full run of the page; the same data, and so
//                                                         a message the browser holds, while unchanged)
//       {kind: "layer", chart, gen, run, traces}           (each run, from its panel: ui/sidebar.py; gen
//                                                         counts the page's full runs)
// A click on the plot area (no drag) sends the trigger value "click" = {x, y} in data coordinates.

const CHARTS = (window.__optimizerCharts = window.__optimizerCharts || {});
const TYPED = {f4: Float32Array, f8: Float64Array, i1: Int8Array, u1: Uint8Array, i2: Int16Array,
               u2: Uint16Array, i4: Int32Array, u4: Uint32Array};
const LOWER = {displayModeBar: false, displaylogo: false, scrollZoom: false, responsive: false};
const UPPER = {displaylogo: false, scrollZoom: false, responsive: false, doubleClick: 'reset',
               modeBarButtonsToRemove: ['toImage', 'select2d', 'lasso2d', 'autoScale2d']};

let loading = null;
function plotly(src) {
  if (window.Plotly) return Promise.resolve(window.Plotly);
  if (!loading) loading = new Promise((resolve, reject) => {
    const s = document.createElement('script');
    s.src = new URL(src, document.baseURI).href;
    s.onload = () => resolve(window.Plotly);
    s.onerror = () => { loading = null; reject(new Error('plotly.js did not load from ' + src)); };
    document.head.appendChild(s);
  });
  return loading;
}

// Plotly's {dtype, bdata, shape} arrays become typed arrays once, here: plotly.js would decode them
// again on every draw, and new arrays make Plotly.react recompute every trace.
function decode(o) {
  if (Array.isArray(o)) return o.map(decode);
  if (!o || typeof o !== 'object') return o;
  if (typeof o.bdata === 'string' && o.dtype in TYPED) {
    const bin = atob(o.bdata), bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    const a = new TYPED[o.dtype](bytes.buffer);
    const shape = typeof o.shape === 'string' ? o.shape.split(',').map(Number) : o.shape;
    if (shape && shape.length === 2) return Array.from({length: shape[0]}, (_, i) => a.subarray(i * shape[1], (i + 1) * shape[1]));
    return a;
  }
  const out = {};
  for (const k in o) out[k] = decode(o[k]);
  return out;
}

function chart(key) {
  return CHARTS[key] || (CHARTS[key] = {runs: new Map(), order: [], critical: [], gen: -1, box: null,
                                       hidden: new Set()});
}

function build(c, parent) {
  const root = document.createElement('div');
  root.className = 'opt-chart';
  root.style.position = 'relative';
  root.style.width = '100%';
  const lower = document.createElement('div'), upper = document.createElement('div');
  lower.className = 'opt-chart-lower';
  upper.className = 'opt-chart-upper';
  Object.assign(upper.style, {position: 'absolute', left: '0', top: '0', width: '100%'});
  root.append(lower, upper);
  parent.appendChild(root);
  const box = {root, lower, upper, contourJson: null, contour: null, drawnContour: null, drawnLayout: null,
               layout: null, send: null, syncing: false, followed: false, legendRoom: 0};
  clicks(box);
  hoverThrough(box);
  new ResizeObserver(() => {
    if (window.Plotly && lower._fullLayout && root.clientWidth && root.clientWidth !== lower._fullLayout.width) {
      box.drawnLayout = null;
      draw(c);
    }
  }).observe(root);
  return box;
}

// A click is a mousedown and mouseup within 4 px on the plot area: a drag zooms instead. (The mouseup
// is read on the document: during a press Plotly lays a cover over the page that receives it.)
function clicks(box) {
  let down = null;
  box.root.addEventListener('mousedown', (e) => { down = [e.clientX, e.clientY]; }, true);
  const up = (e) => {
    if (!box.root.isConnected) { document.removeEventListener('mouseup', up, true); return; }
    if (!down) return;
    const moved = Math.hypot(e.clientX - down[0], e.clientY - down[1]);
    down = null;
    const fl = box.lower._fullLayout;
    if (moved > 4 || !fl || !box.send) return;
    const b = box.lower.getBoundingClientRect(), xa = fl.xaxis, ya = fl.yaxis;
    const px = e.clientX - b.left - xa._offset, py = e.clientY - b.top - ya._offset;
    if (px < 0 || py < 0 || px > xa._length || py > ya._length) return;
    box.send({x: xa.p2d(px), y: ya.p2d(py)});
  };
  document.addEventListener('mouseup', up, true);
}

// Hovering over the contour under the transparent upper graph: the lower graph shows (x, y) and f there,
// unless the upper graph shows a point of a run.
function hoverThrough(box) {
  let pending = false, last = null;
  box.upper.addEventListener('mousemove', (e) => {
    last = e;
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      const fl = box.lower._fullLayout;
      if (!fl || !window.Plotly) return;
      if (box.upper.querySelector('.hoverlayer .hovertext')) { window.Plotly.Fx.unhover(box.lower); return; }
      const b = box.lower.getBoundingClientRect(), xa = fl.xaxis, ya = fl.yaxis;
      const px = last.clientX - b.left - xa._offset, py = last.clientY - b.top - ya._offset;
      if (px < 0 || py < 0 || px > xa._length || py > ya._length) { window.Plotly.Fx.unhover(box.lower); return; }
      window.Plotly.Fx.hover(box.lower, {xval: xa.p2d(px), yval: ya.p2d(py)}, 'xy');
    });
  });
  box.upper.addEventListener('mouseleave', () => window.Plotly && window.Plotly.Fx.unhover(box.lower));
}

// The lower graph's layout: the page's, with room at the top for the upper graph's legend (``legendRoom``,
// kept across updates so that an unchanged contour is not redrawn).
// (Plotly writes into the layout objects it is given: each call gets a fresh copy of the page's.)
function lowerLayout(box) {
  const layout = JSON.parse(box.layoutJson);
  const margin = {...layout.margin, t: Math.max((layout.margin || {}).t || 0, box.legendRoom)};
  return {...layout, margin, width: box.root.clientWidth || 800, showlegend: false};
}

function lowerKey(box) {
  return `${box.layoutJson}|${box.root.clientWidth}|${box.legendRoom}`;
}

// The upper graph: no axes of its own, transparent, its plot area exactly the lower one's (margins and
// ranges read from the lower graph, so a zoom or a taller legend keeps them aligned).
function upperLayout(box) {
  const fl = box.lower._fullLayout, sz = fl._size, layout = JSON.parse(box.layoutJson);
  const bare = (a, range) => ({...a, range, autorange: false, showticklabels: false, ticks: '',
                               title: {text: ''}, showline: false, showgrid: false, zeroline: false});
  return {...layout, width: fl.width, height: fl.height, template: undefined,
          paper_bgcolor: 'rgba(0,0,0,0)', plot_bgcolor: 'rgba(0,0,0,0)',
          xaxis: bare(layout.xaxis, fl.xaxis.range.slice()), yaxis: bare(layout.yaxis, fl.yaxis.range.slice()),
          margin: {l: sz.l, r: fl.width - sz.l - sz.w, t: sz.t, b: fl.height - sz.t - sz.h, pad: 0, autoexpand: false}};
}

// The upper graph's traces: all runs' halos as one trace, all casings as one, then each run's path
// (its own trace: colour, legend entry), then all start/end markers as one trace and all ✕ as one —
// a handful of traces for Plotly to draw however many runs there are. A run hidden by a click on its
// legend entry keeps only its (greyed) entry.
const LINES = new Set(['halo', 'casing']);

function merged(role, traces) {
  if (!traces.length) return [];
  const n = traces.reduce((a, t) => a + t.x.length + (LINES.has(role) ? 1 : 0), 0);
  const x = new Float32Array(n), y = new Float32Array(n);
  const colors = [], symbols = [], texts = [];
  let k = 0;
  for (const t of traces) {
    x.set(t.x, k);
    y.set(t.y, k);
    k += t.x.length;
    if (LINES.has(role)) { x[k] = NaN; y[k] = NaN; k++; continue; }
    for (let i = 0; i < t.x.length; i++) {
      colors.push(Array.isArray(t.marker.color) ? t.marker.color[i] : t.marker.color);
      symbols.push(Array.isArray(t.marker.symbol) ? t.marker.symbol[i] : t.marker.symbol);
      texts.push(Array.isArray(t.hovertext) ? t.hovertext[i] : t.hovertext);
    }
  }
  const out = {...traces[0], x, y, legendgroup: undefined, meta: {role}};
  if (!LINES.has(role)) Object.assign(out, {marker: {...traces[0].marker, color: colors, symbol: symbols}, hovertext: texts});
  return [out];
}

function upperData(c) {
  const byRole = {halo: [], casing: [], path: [], endpoints: [], diverged: []};
  for (const run of c.order) {
    const r = c.runs.get(run);
    if (!r) continue;
    for (const t of r.traces) {
      const role = (t.meta || {}).role;
      if (role === 'path') byRole.path.push(c.hidden.has(run) ? {...t, visible: 'legendonly'} : t);
      else if (role in byRole && !c.hidden.has(run)) byRole[role].push(t);
    }
  }
  return [...merged('halo', byRole.halo), ...merged('casing', byRole.casing), ...byRole.path,
          ...merged('endpoints', byRole.endpoints), ...merged('diverged', byRole.diverged), ...c.critical];
}

// A click on a run's legend entry hides or shows the whole run; a double click shows it alone (or all).
function legendClicks(c) {
  const box = c.box;
  const runOf = (ev) => ((ev.data[ev.curveNumber] || {}).meta || {}).run;
  box.upper.on('plotly_legendclick', (ev) => {
    const run = runOf(ev);
    if (run) { if (c.hidden.has(run)) c.hidden.delete(run); else c.hidden.add(run); draw(c); }
    return false;
  });
  box.upper.on('plotly_legenddoubleclick', (ev) => {
    const run = runOf(ev);
    if (run) {
      const alone = c.order.every((r) => r === run || c.hidden.has(r)) && !c.hidden.has(run);
      c.hidden = new Set(alone ? [] : c.order.filter((r) => r !== run));
      draw(c);
    }
    return false;
  });
}

async function draw(c) {
  const box = c.box, Plotly = window.Plotly;
  if (!box || !Plotly || !box.layout) return;
  if (box.contour !== box.drawnContour || lowerKey(box) !== box.drawnLayout) {
    box.drawnContour = box.contour;
    box.drawnLayout = lowerKey(box);
    await Plotly.react(box.lower, [box.contour], lowerLayout(box), LOWER);
  }
  box.syncing = true;
  try {
    await Plotly.react(box.upper, upperData(c), upperLayout(box), UPPER);
    if (!box.followed) { followZoom(c); legendClicks(c); box.followed = true; }
    // a legend taller than the lower graph's top margin: make room in the lower graph, then realign
    const legend = box.upper._fullLayout.legend;
    const need = legend && legend._height ? Math.ceil(legend._height) + 8 : 0;
    if (need > box.lower._fullLayout._size.t) {
      box.legendRoom = need;
      box.drawnLayout = lowerKey(box);
      await Plotly.react(box.lower, [box.contour], lowerLayout(box), LOWER);
      await Plotly.react(box.upper, upperData(c), upperLayout(box), UPPER);
    }
  } finally {
    box.syncing = false;
  }
}

// A zoom or pan on the upper graph (the one under the mouse) moves the lower one; the lower graph's
// ranges (it keeps the aspect ratio) are then copied back.
function followZoom(c) {
  const box = c.box;
  box.upper.on('plotly_relayout', async (ev) => {
    if (box.syncing || !ev) return;
    const update = {};
    for (const k in ev) if (k.startsWith('xaxis.') || k.startsWith('yaxis.')) update[k] = ev[k];
    if (!Object.keys(update).length) return;
    box.syncing = true;
    try {
      await window.Plotly.relayout(box.lower, update);
      box.drawnLayout = null;                           // (zoomed: the next update redraws it)
      const fl = box.lower._fullLayout;
      await window.Plotly.relayout(box.upper, {'xaxis.range': fl.xaxis.range.slice(), 'yaxis.range': fl.yaxis.range.slice()});
    } finally {
      box.syncing = false;
    }
  });
}

// Draw when every run has its layer from the latest full run, or after a short wait for the missing ones.
function schedule(c) {
  if (!c.box || !window.Plotly) return;
  clearTimeout(c.timer);
  const complete = c.order.every((run) => c.runs.has(run) && c.runs.get(run).gen >= c.gen);
  if (complete) draw(c);
  else c.timer = setTimeout(() => draw(c), 300);
}

export default function (component) {
  const {data, parentElement, setTriggerValue} = component;
  const c = chart(data.chart);
  if (data.kind === 'layer') {
    if (data.gen < c.gen) return;                       // from before the last full run
    c.gen = data.gen;
    c.runs.set(data.run, {gen: data.gen, traces: JSON.parse(data.traces).map(decode)});
    schedule(c);
    return;
  }
  if (!c.box || !c.box.root.isConnected) c.box = build(c, parentElement);
  const box = c.box;
  box.send = (v) => setTriggerValue('click', v);
  const fig = JSON.parse(data.fig);
  const contourJson = JSON.stringify(fig.data[0]);
  if (contourJson !== box.contourJson) {               // (the same object while unchanged: no recalculation)
    box.contourJson = contourJson;
    box.contour = decode(fig.data[0]);
  }
  box.layout = fig.layout;
  box.layoutJson = JSON.stringify(fig.layout);
  c.order = data.order;
  for (const run of [...c.runs.keys()]) if (!c.order.includes(run)) c.runs.delete(run);
  c.critical = JSON.parse(data.critical).map(decode);
  return plotly(data.src).then(() => schedule(c));
}
