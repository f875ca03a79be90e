// The RoPE view: the dot product of a rotated query and key as their
// distance grows, computed with ak.rope, for two query positions and
// without RoPE.
import { Tensor } from 'attnkit';
import { seededFloats } from './reference.js';
import { chartWidth, redrawOnResize, svgElement } from './svg.js';

const DIM = 64;
const VECTOR = seededFloats(DIM, 0x707e);
const FAR_POSITION = 1000;

function dot(a, aOffset, b, bOffset) {
  let sum = 0;
  for (let d = 0; d < DIM; d += 1) sum += a[aOffset + d] * b[bOffset + d];
  return sum;
}

/**
 * Returns dot(RoPE(v, m), RoPE(v, m + t)) for t = 0..span, with the query
 * at position m and the keys at m..m+span, rotated by ak.rope.
 */
export function ropeScores(ak, { base, span, queryPosition }) {
  const keys = new Float32Array((span + 1) * DIM);
  for (let t = 0; t <= span; t += 1) keys.set(VECTOR, t * DIM);
  const rotatedKeys = ak.rope(new Tensor(keys, [1, span + 1, 1, DIM]), { base, positionOffset: queryPosition }).data;
  const rotatedQuery = ak.rope(new Tensor(VECTOR.slice(), [1, 1, 1, DIM]), { base, positionOffset: queryPosition }).data;
  const scores = new Float64Array(span + 1);
  for (let t = 0; t <= span; t += 1) scores[t] = dot(rotatedQuery, 0, rotatedKeys, t * DIM);
  return scores;
}

function drawPlot(svg, span, series) {
  const width = chartWidth(svg);
  const height = 320;
  const left = 48;
  const right = 12;
  // The legend takes the first rows, above the plot area.
  const top = 12 + series.length * 18;
  const bottom = 36;
  let min = Infinity;
  let max = -Infinity;
  for (const { values } of series) {
    for (const v of values) {
      min = Math.min(min, v);
      max = Math.max(max, v);
    }
  }
  const pad = (max - min) * 0.05 || 1;
  min -= pad;
  max += pad;
  const x = (t) => left + ((width - left - right) * t) / span;
  const y = (v) => top + ((height - top - bottom) * (max - v)) / (max - min);

  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${width} ${height}`);
  const axis = { stroke: '#57606a', 'stroke-width': 1 };
  svg.append(svgElement('line', { x1: left, y1: height - bottom, x2: width - right, y2: height - bottom, ...axis }));
  svg.append(svgElement('line', { x1: left, y1: top, x2: left, y2: height - bottom, ...axis }));
  for (let i = 0; i <= 4; i += 1) {
    const t = Math.round((span * i) / 4);
    svg.append(svgElement('text', { x: x(t), y: height - bottom + 16, 'text-anchor': 'middle', 'font-size': 12 }, String(t)));
    const v = min + ((max - min) * i) / 4;
    svg.append(svgElement('text', { x: left - 6, y: y(v), 'text-anchor': 'end', 'dominant-baseline': 'middle', 'font-size': 12 }, v.toFixed(1)));
  }
  svg.append(svgElement('text', { x: (left + width - right) / 2, y: height - 4, 'text-anchor': 'middle', 'font-size': 12 }, 'distance between query and key'));

  for (const { values, colour, dash, width: strokeWidth, name } of series) {
    const points = Array.from(values, (v, t) => `${x(t).toFixed(1)},${y(v).toFixed(1)}`).join(' ');
    svg.append(
      svgElement('polyline', {
        points,
        fill: 'none',
        stroke: colour,
        'stroke-width': strokeWidth,
        'stroke-dasharray': dash ?? 'none',
        'data-series': name,
      }),
    );
  }
  series.forEach(({ colour, dash, label }, i) => {
    const ly = 8 + i * 18;
    const lx = left;
    svg.append(svgElement('line', { x1: lx, y1: ly, x2: lx + 24, y2: ly, stroke: colour, 'stroke-width': 2.5, 'stroke-dasharray': dash ?? 'none' }));
    svg.append(svgElement('text', { x: lx + 30, y: ly, 'dominant-baseline': 'middle', 'font-size': 12 }, label));
  });
}

/** Sets up the RoPE view's controls and draws the first plot. */
export function createRopeView(ak) {
  const baseInput = document.getElementById('rope-base');
  const spanSelect = document.getElementById('rope-span');
  const note = document.getElementById('rope-note');
  const svg = document.getElementById('rope-plot');

  function update() {
    const base = Number(baseInput.value);
    if (baseInput.value.trim() === '' || !Number.isFinite(base) || base <= 0) {
      note.textContent = 'The base must be a positive number, for example 10000.';
      return;
    }
    const span = Number(spanSelect.value);
    const near = ropeScores(ak, { base, span, queryPosition: 0 });
    const far = ropeScores(ak, { base, span, queryPosition: FAR_POSITION });
    const plain = new Float64Array(span + 1).fill(dot(VECTOR, 0, VECTOR, 0));
    let maxDifference = 0;
    for (let t = 0; t <= span; t += 1) maxDifference = Math.max(maxDifference, Math.abs(near[t] - far[t]));
    drawPlot(svg, span, [
      { name: 'plain', values: plain, colour: '#57606a', width: 2, dash: '2 4', label: 'without RoPE' },
      { name: 'rope-0', values: near, colour: '#1f5fbf', width: 3, label: 'RoPE, query at position 0' },
      { name: `rope-${FAR_POSITION}`, values: far, colour: '#c2410c', width: 1.5, dash: '6 4', label: `RoPE, query at position ${FAR_POSITION}` },
    ]);
    svg.dataset.maxDifference = String(maxDifference);
    note.textContent =
      `Base ${base}: the two RoPE curves differ by at most ${maxDifference.toExponential(2)} ` +
      `(float32 rounding) on a scale of ${near[0].toFixed(1)}.`;
  }

  document.getElementById('rope-form').addEventListener('submit', (event) => event.preventDefault());
  baseInput.addEventListener('input', update);
  spanSelect.addEventListener('change', update);
  redrawOnResize(svg, update);
  update();
}
