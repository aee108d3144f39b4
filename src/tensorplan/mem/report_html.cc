#include "tensorplan/mem/report_html.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>

#include "tensorplan/common/progress.h"
#include "tensorplan/common/text.h"
#include "tensorplan/mem/attribution.h"
#include "tensorplan/mem/pytorch_allocator.h"
#include "tensorplan/mem/simulate.h"

namespace tensorplan::mem {

namespace {

constexpr int kPeakTensorsListed = 60;  // tensors per peak in the data (the page shows 25)
constexpr int kPeakTensorsShown = 25;
constexpr int kModulesShown = 12;
constexpr std::size_t kMaxLayoutTensors = 20000;  // keeps the page quick to draw

std::string escape(const std::string& text) { return escape_markup(text); }

std::string percent(double x) { return fmt::format("{:.1f}%", 100 * x); }

std::string kind_name(int kind) { return std::string(to_string(static_cast<TensorKind>(kind))); }

// Phase index of every node (into graph.phases), -1 where no phase covers it.
std::vector<int> node_phases(const Graph& graph) {
  std::vector<int> phase(graph.nodes.size(), -1);
  for (std::size_t p = 0; p < graph.phases.size(); ++p)
    for (int n = graph.phases[p].begin; n < graph.phases[p].end; ++n)
      phase[n] = static_cast<int>(p);
  return phase;
}

// Module totals, largest first, as [[module, bytes], ...].
Json modules_json(const Totals& totals) {
  std::vector<std::pair<std::string, std::int64_t>> rows(totals.by_module.begin(),
                                                         totals.by_module.end());
  std::stable_sort(rows.begin(), rows.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  Json out = Json::array();
  for (const auto& [module, bytes] : rows) out.push_back({module, bytes});
  return out;
}

// One order's curves, peak and what is live there.
Json side_json(const Graph& graph, const Attribution& who, const std::vector<int>& order,
               const std::vector<int>& phase_of_node, bool with_allocator) {
  const Simulation sim = simulate(graph, order);
  Json side;
  Json order_json = Json::array(), phase = Json::array(), live = Json::array();
  for (int n : order) {
    order_json.push_back(n);
    phase.push_back(phase_of_node[n]);
  }
  for (const auto& step : live_bytes_by_kind(graph, order)) live.push_back(step);
  side["order"] = std::move(order_json);
  side["phase"] = std::move(phase);
  side["live"] = std::move(live);
  side["live_bytes"] = sim.live_bytes;
  side["max_live"] = sim.max_live;
  side["peak_step"] = sim.peak_step;
  side["peak_operator"] =
      order.empty() ? Json(nullptr) : Json(who.describe_node(order[sim.peak_step]));
  if (with_allocator) {
    AllocatorTrace trace;
    const AllocatorStats stats = replay_pytorch_allocator(graph, order, &trace);
    side["reserved"] = trace.reserved;
    side["allocated"] = trace.allocated;
    side["peak_reserved"] = stats.peak_reserved;
    side["peak_allocated"] = stats.peak_allocated;
  }
  const Totals totals = totals_of(graph, who, sim.live_at_peak);
  Json by_kind = Json::object();
  for (int k = 0; k < kNumTensorKinds; ++k) by_kind[kind_name(k)] = totals.by_kind[k];
  Json tensors = Json::array();
  const int listed = std::min<int>(kPeakTensorsListed, static_cast<int>(sim.live_at_peak.size()));
  for (int i = 0; i < listed; ++i) {
    const int t = sim.live_at_peak[i];
    tensors.push_back({{"id", graph.tensors[t].id},
                       {"name", graph.tensors[t].name},
                       {"kind", std::string(to_string(graph.tensors[t].kind))},
                       {"size", graph.tensors[t].size},
                       {"module", who.tensor_module(t)}});
  }
  side["peak"] = {{"count", sim.live_at_peak.size()},
                  {"total", totals.total},
                  {"by_kind", std::move(by_kind)},
                  {"by_module", modules_json(totals)},
                  {"tensors", std::move(tensors)}};
  return side;
}

// Where the page's script goes wrong it says so on the page and in <body data-error>.
constexpr const char* kStyle = R"CSS(
body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:1400px}
h1{font-size:22px;margin:0 0 4px} h2{font-size:17px;margin:28px 0 8px}
.sub{color:#555;margin-bottom:12px} .note{color:#555;font-size:13px;max-width:1000px}
table{border-collapse:collapse;font-size:13px;margin:4px 0 12px}
td,th{padding:3px 10px;border-bottom:1px solid #e4e4e4;text-align:left;vertical-align:top}
td.n,th.n{text-align:right;font-variant-numeric:tabular-nums;white-space:nowrap}
.peaks{display:flex;gap:36px;flex-wrap:wrap} .peaks>div{flex:1 1 0;min-width:480px}
td.w{overflow-wrap:anywhere}
.legend span{display:inline-block;margin-right:14px;font-size:13px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:-1px}
.chart{user-select:none;cursor:crosshair} .toolbar{margin:6px 0;font-size:13px}
.toolbar button{margin-right:6px}
#tip{position:fixed;pointer-events:none;background:#fff;border:1px solid #888;padding:6px 8px;
 font-size:12px;box-shadow:0 2px 6px rgba(0,0,0,.2);display:none;max-width:520px;z-index:2}
.big{font-size:15px} .err{color:#b00;font-weight:bold}
)CSS";

// Any script error is shown on the page and recorded in <body data-error> (the browser test reads
// it); the drawing script sets <body data-ok="1"> when it has drawn everything.
constexpr const char* kErrorScript = R"JS(
window.addEventListener('error', function (e) {
  document.body.setAttribute('data-error', String(e.message));
  const p = document.createElement('p');
  p.className = 'err';
  p.textContent = 'This page failed to draw its charts: ' + e.message;
  document.body.insertBefore(p, document.body.firstChild);
});
)JS";

constexpr const char* kScript = R"JS(
(function () {
'use strict';
const D = JSON.parse(document.getElementById('data').textContent);
const KINDS = D.kinds;
const COLOURS = {input: '#9c755f', weight: '#4e79a7', optimizer_state: '#76b7b2',
  activation: '#f28e2b', gradient: '#e15759', temporary: '#b07aa1'};
const STACK = ['weight', 'optimizer_state', 'input', 'gradient', 'activation', 'temporary']
  .map(k => KINDS.indexOf(k));
const PHASE_COLOURS = ['#cfe3f5', '#f7d9a8', '#f5c6c6', '#d2ecc9', '#e3d7f0', '#eeeeee'];
const NS = 'http://www.w3.org/2000/svg';
const steps = D.steps;
const view = {lo: 0, hi: Math.max(1, steps)};

function fmtBytes(b) {
  const a = Math.abs(b);
  if (a >= 1073741824) return (b / 1073741824).toFixed(2) + ' GiB';
  if (a >= 1048576) return (b / 1048576).toFixed(1) + ' MiB';
  if (a >= 1024) return (b / 1024).toFixed(1) + ' KiB';
  return b + ' B';
}
function el(name, attrs, parent) {
  const e = document.createElementNS(NS, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}
function text(parent, x, y, s, attrs) {
  const t = el('text', Object.assign({x: x, y: y}, attrs || {}), parent);
  t.textContent = s;
  return t;
}
function niceStep(range, ticks) {
  const raw = range / Math.max(1, ticks);
  const p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1e-12))));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}
function byteTicks(top, n) {
  let unit = 1;
  while (unit * 1024 <= top) unit *= 1024;
  const step = niceStep(top / unit, n) * unit;
  const out = [];
  for (let a = 0; a <= top * 1.0001; a += step) out.push(a);
  return out;
}
const tip = document.getElementById('tip');
function showTip(ev, html) {
  tip.innerHTML = html;
  tip.style.display = 'block';
  const w = tip.offsetWidth, h = tip.offsetHeight;
  let x = ev.clientX + 14, y = ev.clientY + 14;
  if (x + w > window.innerWidth) x = ev.clientX - w - 14;
  if (y + h > window.innerHeight) y = ev.clientY - h - 14;
  tip.style.left = x + 'px';
  tip.style.top = y + 'px';
}
function hideTip() { tip.style.display = 'none'; }
function esc(s) {
  return String(s).replace(/[&<>"]/g, c => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;'})[c]);
}
function phaseName(i) { return i >= 0 && D.phases[i] ? D.phases[i].name : 'no phase'; }
function describe(n) {
  const node = D.node_info[n];
  let s = esc(node[0]);
  if (node[1]) s += ' in <b>' + esc(node[1]) + '</b>';
  if (node[2]) s += ' (gradient of ' + esc(node[2]) + ')';
  return s;
}

const W = 1180, L = 90, R = 170;
const PANEL = 230, STRIP = 14, GAP = 70, TOPM = 44;
const yTop = Math.max(D.eager.max_live, D.planned.max_live, D.plan.arena_bytes,
  D.eager.peak_reserved || 0) * 1.04 || 1;

function xOf(s) { return L + (s - view.lo) / (view.hi - view.lo) * W; }
function stepAt(px) { return Math.floor(view.lo + (px - L) / W * (view.hi - view.lo)); }

function drawStepAxis(g, y) {
  el('line', {x1: L, y1: y, x2: L + W, y2: y, stroke: '#000'}, g);
  const st = Math.max(1, niceStep(view.hi - view.lo, 10));
  for (let s = Math.ceil(view.lo / st) * st; s <= view.hi; s += st) {
    el('line', {x1: xOf(s), y1: y, x2: xOf(s), y2: y + 5, stroke: '#000'}, g);
    text(g, xOf(s), y + 18, String(s), {'text-anchor': 'middle'});
  }
}
function drawByteAxis(g, y0, height, top) {
  el('line', {x1: L, y1: y0, x2: L, y2: y0 + height, stroke: '#000'}, g);
  for (const a of byteTicks(top, 5)) {
    const y = y0 + height - a / top * height;
    el('line', {x1: L - 5, y1: y, x2: L + W, y2: y, stroke: a === 0 ? '#000' : '#eee'}, g);
    text(g, L - 8, y + 4, fmtBytes(a), {'text-anchor': 'end'});
  }
}
function drawPhases(g, side, y) {
  if (!D.phases.length) return;
  const ph = side.phase;
  const lo = Math.max(0, Math.floor(view.lo)), hi = Math.min(steps, Math.ceil(view.hi));
  let s = lo;
  while (s < hi) {
    let e = s + 1;
    while (e < hi && ph[e] === ph[s]) ++e;
    const x0 = Math.max(L, xOf(s)), x1 = Math.min(L + W, xOf(e));
    const r = el('rect', {x: x0, y: y, width: Math.max(0.5, x1 - x0), height: STRIP,
      fill: ph[s] >= 0 ? PHASE_COLOURS[ph[s] % PHASE_COLOURS.length] : '#fff'}, g);
    r.dataset.tip = 'steps ' + s + '–' + (e - 1) + ': ' + phaseName(ph[s]);
    if (x1 - x0 > 60) text(g, (x0 + x1) / 2, y + 11, phaseName(ph[s]),
      {'text-anchor': 'middle', 'font-size': 11, 'pointer-events': 'none'});
    s = e;
  }
}
function drawSide(g, side, y0, title, isEager) {
  text(g, L, y0 - 24, title, {'font-weight': 'bold', 'font-size': 14});
  const clip = 'clip' + (isEager ? 'E' : 'P');
  const cp = el('clipPath', {id: clip}, g);
  el('rect', {x: L, y: y0 - 2, width: W, height: PANEL + 2}, cp);
  drawByteAxis(g, y0, PANEL, yTop);  // grid first: the areas go over it
  const plot = el('g', {'clip-path': 'url(#' + clip + ')'}, g);
  const yOf = b => y0 + PANEL - b / yTop * PANEL;
  const lo = Math.max(0, Math.floor(view.lo)), hi = Math.min(steps, Math.ceil(view.hi));
  const base = new Array(hi - lo).fill(0);
  for (const k of STACK) {
    let top = [], bottom = [];
    let any = false;
    for (let s = lo; s < hi; ++s) {
      const b0 = base[s - lo], b1 = b0 + side.live[s][k];
      if (side.live[s][k] > 0) any = true;
      base[s - lo] = b1;
      top.push(xOf(s).toFixed(1) + ',' + yOf(b1).toFixed(1), xOf(s + 1).toFixed(1) + ',' + yOf(b1).toFixed(1));
      bottom.push(xOf(s).toFixed(1) + ',' + yOf(b0).toFixed(1), xOf(s + 1).toFixed(1) + ',' + yOf(b0).toFixed(1));
    }
    if (!any) continue;
    el('polygon', {points: top.concat(bottom.reverse()).join(' '), fill: COLOURS[KINDS[k]]}, plot);
  }
  const line = (values, attrs) => {
    const pts = [];
    for (let s = lo; s < hi; ++s)
      pts.push(xOf(s).toFixed(1) + ',' + yOf(values[s]).toFixed(1), xOf(s + 1).toFixed(1) + ',' + yOf(values[s]).toFixed(1));
    el('polyline', Object.assign({points: pts.join(' '), fill: 'none'}, attrs), plot);
  };
  const labels = [];
  const level = (b, label, attrs) => {
    el('line', Object.assign({x1: L, x2: L + W, y1: yOf(b), y2: yOf(b)}, attrs), g);
    labels.push({y: yOf(b) + 4, s: label + ' ' + fmtBytes(b), fill: attrs.stroke});
  };
  if (isEager) {
    line(side.reserved, {stroke: '#000', 'stroke-width': 1.5});
    line(side.allocated, {stroke: '#555', 'stroke-width': 1, 'stroke-dasharray': '4 3'});
    level(side.peak_reserved, 'reserved', {stroke: '#000', 'stroke-width': 0.6});
  } else {
    level(D.plan.arena_bytes, 'arena', {stroke: '#000', 'stroke-width': 1.5});
    level(D.eager.peak_reserved, 'PyTorch', {stroke: '#888', 'stroke-dasharray': '5 4'});
    level(D.plan.lower_bound, 'bound', {stroke: '#2a7', 'stroke-dasharray': '2 3'});
  }
  // Right-hand labels, moved apart where their levels are close.
  labels.sort((a, b) => a.y - b.y);
  for (let i = 1; i < labels.length; ++i) labels[i].y = Math.max(labels[i].y, labels[i - 1].y + 14);
  for (const l of labels) text(g, L + W + 6, l.y, l.s, {'font-size': 12, fill: l.fill});
  if (side.peak_step >= view.lo && side.peak_step < view.hi) {
    const px = xOf(side.peak_step + 0.5);
    el('line', {x1: px, x2: px, y1: y0, y2: y0 + PANEL, stroke: '#b00', 'stroke-dasharray': '4 3'}, g);
    text(g, px, y0 - 6, 'peak ' + fmtBytes(side.max_live) + ' (step ' + side.peak_step + ')',
      {fill: '#b00', 'text-anchor': px > L + W - 150 ? 'end' : 'middle', 'font-size': 12});
  }
  drawPhases(g, side, y0 + PANEL + 2);
  const cursor = el('line', {x1: 0, x2: 0, y1: y0, y2: y0 + PANEL, stroke: '#333', visibility: 'hidden'}, g);
  const hit = el('rect', {x: L, y: y0, width: W, height: PANEL, fill: 'transparent'}, g);
  hit.addEventListener('mousemove', ev => {
    const box = g.ownerSVGElement.getBoundingClientRect();
    const px = (ev.clientX - box.left) * (g.ownerSVGElement.viewBox.baseVal.width / box.width);
    const s = Math.min(steps - 1, Math.max(0, stepAt(px)));
    cursor.setAttribute('x1', xOf(s + 0.5));
    cursor.setAttribute('x2', xOf(s + 0.5));
    cursor.setAttribute('visibility', 'visible');
    let html = '<b>step ' + s + '</b> (' + esc(phaseName(side.phase[s])) + '): ' + describe(side.order[s]) + '<table>';
    let total = 0;
    for (const k of STACK.slice().reverse()) {
      total += side.live[s][k];
      if (side.live[s][k] > 0)
        html += '<tr><td><i style="display:inline-block;width:10px;height:10px;background:' + COLOURS[KINDS[k]] +
          '"></i> ' + KINDS[k] + '</td><td class="n">' + fmtBytes(side.live[s][k]) + '</td></tr>';
    }
    html += '<tr><td><b>live</b></td><td class="n"><b>' + fmtBytes(total) + '</b></td></tr>';
    if (isEager)
      html += '<tr><td>PyTorch allocated</td><td class="n">' + fmtBytes(side.allocated[s]) +
        '</td></tr><tr><td>PyTorch reserved</td><td class="n">' + fmtBytes(side.reserved[s]) + '</td></tr>';
    else html += '<tr><td>arena</td><td class="n">' + fmtBytes(D.plan.arena_bytes) + '</td></tr>';
    showTip(ev, html + '</table>');
  });
  hit.addEventListener('mouseleave', () => { cursor.setAttribute('visibility', 'hidden'); hideTip(); });
}

function drawMemory() {
  const H = TOPM + 2 * (PANEL + STRIP) + GAP + 60;
  const svg = document.getElementById('memory');
  svg.setAttribute('viewBox', '0 0 ' + (L + W + R) + ' ' + H);
  svg.replaceChildren();
  const g = el('g', {}, svg);
  drawSide(g, D.eager, TOPM, 'Eager PyTorch (reference order, caching allocator' +
    (D.eager_gradients === 'keep' && D.plan.gradients === 'fused' ? ', gradients kept in .grad)' : ')'), true);
  const y1 = TOPM + PANEL + STRIP + GAP;
  drawSide(g, D.planned, y1, 'Planned order in one arena', false);
  drawStepAxis(g, y1 + PANEL + STRIP + 4);
  text(g, L + W / 2, H - 6, 'step (operator number in each order)', {'text-anchor': 'middle'});
}

const LAYOUT_H = 440;
function drawLayout() {
  const svg = document.getElementById('layout');
  const H = LAYOUT_H + STRIP + 80;
  svg.setAttribute('viewBox', '0 0 ' + (L + W + R) + ' ' + H);
  svg.replaceChildren();
  const g = el('g', {}, svg);
  const y0 = 28;
  const top = Math.max(D.plan.arena_bytes, D.planned.max_live, 1);
  const yOf = b => y0 + LAYOUT_H - b / top * LAYOUT_H;
  drawByteAxis(g, y0, LAYOUT_H, top);
  const cp = el('clipPath', {id: 'clipL'}, g);
  el('rect', {x: L, y: y0 - 1, width: W, height: LAYOUT_H + 2}, cp);
  const plot = el('g', {'clip-path': 'url(#clipL)'}, g);
  const shades = [1, 0.82, 0.66];
  const rects = D.layout.tensors;
  for (let i = 0; i < rects.length; ++i) {
    const r = rects[i];  // [tensor index, first step, last step, offset]
    if (r[2] + 1 <= view.lo || r[1] >= view.hi) continue;
    const info = D.tensor_info[r[0]];
    const x0 = xOf(Math.max(r[1], view.lo)), x1 = xOf(Math.min(r[2] + 1, view.hi));
    const ya = yOf(r[3] + info[3]), yb = yOf(r[3]);
    const h = Math.max(1, yb - ya), w = Math.max(1, x1 - x0);
    const e = el('rect', {x: x0.toFixed(2), y: (yb - h).toFixed(2), width: w.toFixed(2),
      height: h.toFixed(2), fill: COLOURS[KINDS[info[1]]], 'fill-opacity': shades[r[0] % 3]}, plot);
    e.dataset.i = i;
  }
  const arenaY = yOf(D.plan.arena_bytes);
  el('line', {x1: L, x2: L + W, y1: arenaY, y2: arenaY, stroke: '#000', 'stroke-dasharray': '6 3'}, g);
  text(g, L + W + 6, arenaY + 4, 'arena ' + fmtBytes(D.plan.arena_bytes), {'font-size': 12});
  drawPhases(g, D.planned, y0 + LAYOUT_H + 2);
  drawStepAxis(g, y0 + LAYOUT_H + STRIP + 4);
  text(g, L + W / 2, H - 8, 'step (operator number in the planned order)', {'text-anchor': 'middle'});
  text(g, L - 8, y0 - 8, 'address', {'text-anchor': 'end'});
  plot.addEventListener('mousemove', ev => {
    const i = ev.target.dataset ? ev.target.dataset.i : undefined;
    if (i === undefined) { hideTip(); return; }
    const r = rects[i], info = D.tensor_info[r[0]];
    showTip(ev, '<b>' + esc(info[0]) + '</b><br>' + KINDS[info[1]] + (info[2] ? ' in <b>' + esc(info[2]) + '</b>' : '') +
      '<br>size ' + fmtBytes(info[3]) + ' (' + info[3].toLocaleString('en') + ' B)<br>offset ' + fmtBytes(r[3]) +
      ' (' + r[3].toLocaleString('en') + ' B)<br>steps ' + r[1] + '–' + r[2] +
      (info[4] >= 0 ? '<br>made by ' + describe(info[4]) : '<br>exists before the step'));
  });
  plot.addEventListener('mouseleave', hideTip);
}

function redraw() {
  drawMemory();
  drawLayout();
  document.getElementById('range').textContent = 'steps ' + Math.floor(view.lo) + '–' +
    Math.ceil(view.hi) + ' of ' + steps;
}
let pending = false;
function schedule() {
  if (pending) return;
  pending = true;
  requestAnimationFrame(() => { pending = false; redraw(); });
}
function zoom(factor, centre) {
  const span = view.hi - view.lo;
  const ns = Math.min(steps, Math.max(8, span * factor));
  let lo = centre - (centre - view.lo) * ns / span;
  lo = Math.max(0, Math.min(steps - ns, lo));
  view.lo = lo;
  view.hi = lo + ns;
  schedule();
}
for (const id of ['memory', 'layout']) {
  const svg = document.getElementById(id);
  const toPx = ev => {
    const box = svg.getBoundingClientRect();
    return (ev.clientX - box.left) * (svg.viewBox.baseVal.width / box.width);
  };
  svg.addEventListener('wheel', ev => {
    ev.preventDefault();
    zoom(ev.deltaY > 0 ? 1.25 : 0.8, Math.max(view.lo, Math.min(view.hi, view.lo + (toPx(ev) - L) / W * (view.hi - view.lo))));
  }, {passive: false});
  let drag = null;
  svg.addEventListener('mousedown', ev => { drag = {x: toPx(ev), lo: view.lo, hi: view.hi}; });
  window.addEventListener('mouseup', () => { drag = null; });
  svg.addEventListener('mousemove', ev => {
    if (!drag || !(ev.buttons & 1)) return;
    const d = (toPx(ev) - drag.x) / W * (drag.hi - drag.lo);
    const span = drag.hi - drag.lo;
    view.lo = Math.max(0, Math.min(steps - span, drag.lo - d));
    view.hi = view.lo + span;
    schedule();
  });
  svg.addEventListener('dblclick', () => { view.lo = 0; view.hi = Math.max(1, steps); schedule(); });
}
document.getElementById('zin').onclick = () => zoom(0.5, (view.lo + view.hi) / 2);
document.getElementById('zout').onclick = () => zoom(2, (view.lo + view.hi) / 2);
document.getElementById('zreset').onclick = () => { view.lo = 0; view.hi = Math.max(1, steps); schedule(); };
document.getElementById('zpeak').onclick = () => {
  const c = D.planned.peak_step, span = Math.min(steps, Math.max(40, steps / 20));
  view.lo = Math.max(0, Math.min(steps - span, c - span / 2));
  view.hi = view.lo + span;
  schedule();
};
document.addEventListener('mouseover', ev => {
  if (ev.target.dataset && ev.target.dataset.tip) showTip(ev, esc(ev.target.dataset.tip));
});
redraw();
// The charts change the page's height: go to the section the address names once they are drawn.
if (location.hash) {
  const target = document.getElementById(location.hash.slice(1));
  if (target) target.scrollIntoView();
}
document.body.setAttribute('data-ok', '1');
})();
)JS";

// Rows of a peak table: totals by kind and by top-level module, then the largest tensors.
std::string peak_html(const Json& side, const std::string& title) {
  const Json& peak = side["peak"];
  std::string out = fmt::format(
      "<div><h3>{}</h3><p class=\"sub\">{} live at step {}: {} ({} tensors live)</p>"
      "<table><tr><th>kind</th><th class=\"n\">bytes</th><th class=\"n\">share</th></tr>",
      escape(title), format_bytes(side["max_live"].get<std::int64_t>()),
      side["peak_step"].get<int>(),
      side["peak_operator"].is_null() ? std::string("no operator")
                                      : escape(side["peak_operator"].get<std::string>()),
      peak["count"].get<std::size_t>());
  const double total = std::max<double>(1, static_cast<double>(peak["total"].get<std::int64_t>()));
  for (const char* kind :
       {"weight", "optimizer_state", "input", "gradient", "activation", "temporary"}) {
    const std::int64_t bytes = peak["by_kind"][kind].get<std::int64_t>();
    if (bytes == 0) continue;
    out += fmt::format(
        "<tr><td><i style=\"display:inline-block;width:10px;height:10px\" class=\"k-{0}\"></i> "
        "{0}</td><td class=\"n\">{1}</td><td class=\"n\">{2}</td></tr>",
        kind, format_bytes(bytes), percent(static_cast<double>(bytes) / total));
  }
  out +=
      "</table><table><tr><th>top-level module</th><th class=\"n\">bytes</th>"
      "<th class=\"n\">share</th></tr>";
  int shown = 0;
  std::int64_t rest = 0;
  for (const Json& row : peak["by_module"]) {
    const std::string module = row[0].get<std::string>();
    const std::int64_t bytes = row[1].get<std::int64_t>();
    if (bytes == 0) continue;
    if (shown++ >= kModulesShown) {
      rest += bytes;
      continue;
    }
    out += fmt::format("<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                       module.empty() ? "(no module: the batch, the model's own)" : escape(module),
                       format_bytes(bytes), percent(static_cast<double>(bytes) / total));
  }
  if (rest > 0)
    out += fmt::format("<tr><td>{} more modules</td><td class=\"n\">{}</td><td></td></tr>",
                       shown - kModulesShown, format_bytes(rest));
  out +=
      "</table><table><tr><th class=\"n\">size</th><th>kind</th><th>tensor</th>"
      "<th>module</th></tr>";
  int listed = 0;
  for (const Json& t : peak["tensors"]) {
    if (listed++ >= kPeakTensorsShown) break;
    out += fmt::format(
        "<tr><td class=\"n\">{}</td><td>{}</td><td class=\"w\">{}</td>"
        "<td class=\"w\">{}</td></tr>",
        format_bytes(t["size"].get<std::int64_t>()), t["kind"].get<std::string>(),
        escape(t["name"].get<std::string>()), escape(t["module"].get<std::string>()));
  }
  if (peak["count"].get<std::size_t>() > static_cast<std::size_t>(kPeakTensorsShown))
    out += fmt::format("<tr><td></td><td colspan=\"3\">… and {} smaller tensors</td></tr>",
                       peak["count"].get<std::size_t>() - kPeakTensorsShown);
  return out + "</table></div>";
}

}  // namespace

Json report_data(const Graph& graph, const PlanReport& report, const Graph* baseline) {
  const Attribution who(graph);
  const std::vector<int> phase_of_node = node_phases(graph);
  Json data;
  data["format"] = "tensorplan.report";
  data["version"] = 1;
  data["graph"] = graph.name;
  data["steps"] = graph.num_nodes();
  Json plan = report_to_json(report, graph);
  plan["saving_ceiling"] = saving_ceiling(report);
  data["plan"] = std::move(plan);
  Json kinds = Json::array();
  for (int k = 0; k < kNumTensorKinds; ++k) kinds.push_back(kind_name(k));
  data["kinds"] = std::move(kinds);
  Json phases = Json::array();
  for (const Phase& p : graph.phases)
    phases.push_back({{"name", p.name}, {"begin", p.begin}, {"end", p.end}});
  data["phases"] = std::move(phases);
  Json nodes = Json::array();
  for (int n = 0; n < graph.num_nodes(); ++n) {
    const int parameter = who.gradient_parameter(n);
    nodes.push_back({graph.nodes[n].name.empty() ? graph.nodes[n].op : graph.nodes[n].name,
                     who.node_module(n),
                     parameter >= 0 ? graph.tensors[parameter].name : std::string()});
  }
  data["node_info"] = std::move(nodes);
  // Per tensor: name, kind (index into kinds), module, size, producer node (-1: before the step).
  Json tensors = Json::array();
  for (int t = 0; t < graph.num_tensors(); ++t)
    tensors.push_back({graph.tensors[t].name, static_cast<int>(graph.tensors[t].kind),
                       who.tensor_module(t), graph.tensors[t].size, graph.tensors[t].producer});
  data["tensor_info"] = std::move(tensors);
  const Graph& eager = baseline ? *baseline : graph;
  data["eager"] = side_json(eager, who, eager.order, phase_of_node, true);
  data["eager_gradients"] = std::string(to_string(eager.gradients));
  data["planned"] = side_json(graph, who, report.plan.order, phase_of_node, false);

  // The layout: [tensor, first step, last step, offset]; the largest (by area) when very many.
  const auto lives = lifetimes(graph, report.plan.order);
  std::vector<int> drawn;
  for (int t = 0; t < graph.num_tensors(); ++t)
    if (graph.tensors[t].size > 0 && report.plan.offsets[t] >= 0) drawn.push_back(t);
  const std::size_t placed = drawn.size();
  if (drawn.size() > kMaxLayoutTensors) {
    auto area = [&](int t) {
      return static_cast<double>(graph.tensors[t].size) * (lives[t].end - lives[t].start + 1);
    };
    std::nth_element(drawn.begin(), drawn.begin() + kMaxLayoutTensors, drawn.end(),
                     [&](int a, int b) { return area(a) > area(b); });
    drawn.resize(kMaxLayoutTensors);
    std::sort(drawn.begin(), drawn.end());
  }
  Json rects = Json::array();
  for (int t : drawn) rects.push_back({t, lives[t].start, lives[t].end, report.plan.offsets[t]});
  data["layout"] = {{"tensors", std::move(rects)}, {"left_out", placed - drawn.size()}};
  return data;
}

std::string report_html(const Graph& graph, const PlanReport& report, const Graph* baseline) {
  const Json data = report_data(graph, report, baseline);
  const SavingSplit& split = report.split;
  const std::string name = escape(graph.name.empty() ? "training step" : graph.name);

  std::string html = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n<title>" +
                     name + " · tensorplan memory report</title>\n<style>" + kStyle;
  for (int k = 0; k < kNumTensorKinds; ++k) {
    static constexpr std::array<const char*, kNumTensorKinds> kColours = {
        "#9c755f", "#4e79a7", "#76b7b2", "#f28e2b", "#e15759", "#b07aa1"};
    html += fmt::format(".k-{}{{background:{}}}\n", kind_name(k), kColours[k]);
  }
  html += "</style></head>\n<body>\n";
  html += fmt::format(
      "<h1>Memory of one training step: {}</h1>\n<p class=\"sub\">{} operators, {} tensors, "
      "gradients {} · made by <code>tensorplan mem report</code></p>\n",
      name, graph.num_nodes(), graph.num_tensors(),
      graph.gradients == GradientSemantics::kKeep ? "kept in .grad (PyTorch's default)"
                                                  : "fused into backward");
  html += fmt::format(
      "<p class=\"big\">Eager PyTorch reserves <b>{}</b> at its peak; the plan needs one arena of "
      "<b>{}</b>: <b>{}</b> less. No order can go below <b>{}</b> of live bytes (proven lower "
      "bound), so no plan can save more than <b>{}</b> (the ceiling).</p>\n",
      format_bytes(split.baseline_reserved), format_bytes(report.arena_bytes),
      percent(report.saving), format_bytes(report.lower_bound), percent(saving_ceiling(report)));

  // Where the saving comes from.
  html +=
      "<h2>Where the saving comes from</h2>\n<table><tr><th>step</th><th class=\"n\">bytes"
      "</th><th class=\"n\">share of the baseline</th><th>what it is</th></tr>\n";
  auto row = [&](const std::string& label, std::int64_t bytes, const std::string& share,
                 const std::string& note) {
    html += fmt::format(
        "<tr><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td>{}</td></tr>\n", label,
        format_bytes(bytes), share, note);
  };
  // A share saved, as a change of the baseline ("-12.3%"); no "-0.0%".
  auto term = [](double x) { return fmt::format("{:+.1f}%", x == 0 ? 0.0 : -100 * x); };
  row("PyTorch reserved, eager order", split.baseline_reserved, "100%",
      baseline ? "the baseline: PyTorch's caching allocator (simulated) running the reference "
                 "order of the same step with gradients kept in .grad (--baseline)"
               : "the baseline: PyTorch's caching allocator (simulated) running the reference "
                 "order");
  // Bytes after each term: the baseline less the shares so far (for a fused graph measured against
  // its keep graph, the first two are the keep step's max-lives).
  double shares = 0;
  auto after = [&](double share) {
    shares += share;
    return static_cast<std::int64_t>(
        std::llround(static_cast<double>(split.baseline_reserved) * (1.0 - shares)));
  };
  row("&nbsp;&nbsp;allocator → one arena", after(split.allocator), term(split.allocator),
      "max-live of the same order: what the caching allocator holds above the live tensors "
      "(512-byte rounding, block splitting, cached free blocks)");
  row("&nbsp;&nbsp;order", after(split.order), term(split.order),
      fmt::format("max-live of the planned order ({})", escape(report.order_method)));
  if (graph.gradients == GradientSemantics::kFused || split.gradients != 0)
    row("&nbsp;&nbsp;fused gradients", after(split.gradients), term(split.gradients),
        split.baseline_gradients == GradientSemantics::kFused
            ? "this graph fuses its gradients and is its own baseline, so their gain is inside "
              "the other rows (mem plan --baseline KEEP_GRAPH splits it off)"
            : "each gradient dies after its parameter's update");
  row("&nbsp;&nbsp;placement", after(split.placement), term(split.placement),
      fmt::format("the arena above max-live: sizes rounded up to {} B, fragmentation {} ({})",
                  report.alignment, percent(report.fragmentation),
                  escape(report.placement_method)));
  row("<b>planned arena</b>", report.arena_bytes, "<b>" + term(report.saving) + "</b>",
      "what the planned step needs in all");
  row("proven lower bound", report.lower_bound,
      fmt::format("ceiling {}", percent(saving_ceiling(report))),
      "no order has lower max-live, so no plan saves more than the ceiling");
  html += "</table>\n";
  if (graph.gradients == GradientSemantics::kFused && !baseline)
    html +=
        "<p class=\"note\">This graph fuses its gradients and no keep graph was given, so the "
        "baseline is eager PyTorch running this fused step; <code>--baseline KEEP_GRAPH</code> "
        "measures it against the step with gradients kept (PyTorch's default) and splits off "
        "what fusing gains.</p>\n";
  if (graph.gradients == GradientSemantics::kKeep)
    html +=
        "<p class=\"note\">Gradients are kept in <code>.grad</code>, as PyTorch does by default. "
        "Fusing the optimizer into backward (each gradient freed after its parameter's update) "
        "would save more; export the step with fused gradients and plan it against this one "
        "(<code>mem plan FUSED --baseline KEEP</code>).</p>\n";

  // Memory over the step.
  html +=
      "<h2 id=\"live-memory\">Live memory over the step, by tensor kind</h2>\n<div "
      "class=\"legend\">";
  for (const char* kind :
       {"weight", "optimizer_state", "input", "gradient", "activation", "temporary"})
    html += fmt::format("<span><i class=\"k-{0}\"></i>{0}</span>", kind);
  html +=
      "<span>— PyTorch reserved</span><span>- - PyTorch allocated</span>"
      "<span>— arena</span></div>\n<div class=\"toolbar\"><button id=\"zin\">zoom in</button>"
      "<button id=\"zout\">zoom out</button><button id=\"zpeak\">planned peak</button>"
      "<button id=\"zreset\">whole step</button><span id=\"range\"></span> · wheel to zoom, "
      "drag to pan, double-click to reset; hover for details</div>\n";
  if (graph.phases.empty())
    html +=
        "<p class=\"note\"><b>No phases:</b> this graph does not say where forward, loss, "
        "backward and the optimizer step begin (its file has no <code>phases</code>, which "
        "the exporter writes), so they are not marked.</p>\n";
  else
    html +=
        "<p class=\"note\">The strip under each chart shows the phase (forward, loss, backward, "
        "optimizer) of the operator at each step, as the exporter marked it; in the planned "
        "order phases may interleave.</p>\n";
  html += "<svg id=\"memory\" class=\"chart\" width=\"100%\"></svg>\n";

  // Peaks.
  html += "<h2 id=\"peaks\">What is live at each peak</h2>\n<div class=\"peaks\">" +
          peak_html(data["eager"], "Eager order") + peak_html(data["planned"], "Planned order") +
          "</div>\n<p class=\"note\">Module of a tensor: a parameter's (weights, their optimizer "
          "state and gradients), else the module of the operator that made it; a weight-gradient "
          "operator belongs to its parameter's module.</p>\n";

  // Layout.
  html += fmt::format(
      "<h2 id=\"address-layout\">Address layout of the plan</h2>\n<p class=\"note\">One rectangle "
      "per tensor: steps "
      "across (its lifetime in the planned order), addresses up (its place in the {} arena). "
      "Hover for details; the zoom above applies here too.{}</p>\n"
      "<svg id=\"layout\" class=\"chart\" width=\"100%\"></svg>\n",
      format_bytes(report.arena_bytes),
      data["layout"]["left_out"].get<std::size_t>() > 0
          ? fmt::format(" The {} smallest tensors are not drawn.",
                        data["layout"]["left_out"].get<std::size_t>())
          : std::string());

  // The numbers, then the script that draws from them. '<' is escaped inside the JSON so that no
  // tensor name can end the script element.
  std::string json = data.dump();
  std::string safe;
  safe.reserve(json.size());
  for (char c : json) {
    if (c == '<')
      safe += "\\u003c";
    else
      safe += c;
  }
  html += "<div id=\"tip\"></div>\n<script type=\"application/json\" id=\"data\">" + safe +
          "</script>\n<script>\n" + kErrorScript + "</script>\n<script>\n" + kScript +
          "</script>\n<noscript>The charts need JavaScript; the tables above do not.</noscript>\n"
          "</body></html>\n";
  return html;
}

}  // namespace tensorplan::mem
