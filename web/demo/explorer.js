// The attention explorer: words of a sentence become tokens with seeded
// embeddings, seeded projections give Q and K, and attnkit computes the
// attention weights, drawn as a heatmap.
import { Tensor } from 'attnkit';
import { seededFloats } from './reference.js';
import { shorten, svgElement } from './svg.js';

const MODEL_DIM = 64;
const HEADS = 4;
const HEAD_DIM = MODEL_DIM / HEADS;
const MAX_TOKENS = 24;
// Projection entries are uniform in ±PROJECTION_RANGE. With embeddings
// uniform in ±1, this gives attention scores with a standard deviation of
// about 1.5, so the weights are neither uniform nor one-hot.
const PROJECTION_RANGE = 0.45;
const W_Q = seededFloats(MODEL_DIM * MODEL_DIM, 0x51, -PROJECTION_RANGE, PROJECTION_RANGE);
const W_K = seededFloats(MODEL_DIM * MODEL_DIM, 0x4b, -PROJECTION_RANGE, PROJECTION_RANGE);

/** Splits a sentence into lower-case words (letters and digits, with inner apostrophes). */
export function tokenize(sentence) {
  return sentence.toLowerCase().match(/[\p{L}\p{N}]+(?:['’][\p{L}\p{N}]+)*/gu) ?? [];
}

// 32-bit FNV-1a hash of the word's UTF-16 code units; it seeds the embedding.
function hashWord(word) {
  let hash = 0x811c9dc5;
  for (let i = 0; i < word.length; i += 1) {
    hash ^= word.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/** Returns the embedding of a word: MODEL_DIM floats in [−1, 1) seeded by its hash. */
export function embedWord(word) {
  return seededFloats(MODEL_DIM, hashWord(word));
}

// x [n, MODEL_DIM] times w [MODEL_DIM, MODEL_DIM]; the result [n, MODEL_DIM]
// is also [1, n, HEADS, HEAD_DIM], the layout ak.rope takes.
function project(x, w, n) {
  const out = new Float32Array(n * MODEL_DIM);
  for (let i = 0; i < n; i += 1) {
    for (let c = 0; c < MODEL_DIM; c += 1) {
      const xc = x[i * MODEL_DIM + c];
      for (let j = 0; j < MODEL_DIM; j += 1) out[i * MODEL_DIM + j] += xc * w[c * MODEL_DIM + j];
    }
  }
  return out;
}

// [1, n, HEADS, HEAD_DIM] to [1, HEADS, n, HEAD_DIM], the layout of ak.attention.
function headsFirst(x, n) {
  const out = new Float32Array(x.length);
  for (let i = 0; i < n; i += 1) {
    for (let h = 0; h < HEADS; h += 1) {
      for (let d = 0; d < HEAD_DIM; d += 1) out[(h * n + i) * HEAD_DIM + d] = x[(i * HEADS + h) * HEAD_DIM + d];
    }
  }
  return out;
}

/**
 * Computes the attention weights [1, HEADS, n, n] with attnkit's kernels:
 * ak.attentionWithCache returns the softmax probabilities as qkOutput
 * (qkMatmulOutputMode 3). V is K, because only the weights are used.
 */
export function attentionWeights(ak, q, k, n, causal) {
  const qTensor = new Tensor(q, [1, HEADS, n, HEAD_DIM]);
  const kTensor = new Tensor(k, [1, HEADS, n, HEAD_DIM]);
  const { qkOutput } = ak.attentionWithCache(qTensor, kTensor, kTensor, { causal, qkMatmulOutputMode: 3 });
  return qkOutput.data;
}

/** Returns the weights [1, HEADS, n, n] for the tokens under the chosen settings. */
export function explorerWeights(ak, tokens, { causal, rope }) {
  const n = tokens.length;
  const x = new Float32Array(n * MODEL_DIM);
  tokens.forEach((word, i) => x.set(embedWord(word), i * MODEL_DIM));
  let q = project(x, W_Q, n);
  let k = project(x, W_K, n);
  if (rope) {
    q = ak.rope(new Tensor(q, [1, n, HEADS, HEAD_DIM])).data;
    k = ak.rope(new Tensor(k, [1, n, HEADS, HEAD_DIM])).data;
  }
  return attentionWeights(ak, headsFirst(q, n), headsFirst(k, n), n, causal);
}

// Sequential colour scale from white (weight 0) to dark blue (weight 1).
function weightColour(w) {
  const t = Math.sqrt(Math.min(Math.max(w, 0), 1));
  const from = [247, 251, 255];
  const to = [8, 48, 107];
  const rgb = from.map((a, i) => Math.round(a + (to[i] - a) * t));
  return `rgb(${rgb.join(',')})`;
}

/** Sets up the explorer's controls and draws the first heatmap. */
export function createExplorer(ak) {
  const sentence = document.getElementById('sentence');
  const headSelect = document.getElementById('head');
  const causal = document.getElementById('causal');
  const ropeToggle = document.getElementById('rope-toggle');
  const note = document.getElementById('explorer-note');
  const svg = document.getElementById('heatmap');
  const readout = document.getElementById('heatmap-readout');

  for (let h = 0; h < HEADS; h += 1) headSelect.append(new Option(`${h + 1} of ${HEADS}`, String(h)));

  let state = { tokens: [], weights: null, n: 0, selected: null };

  function cellValue(i, j) {
    const h = Number(headSelect.value);
    return state.weights[(h * state.n + i) * state.n + j];
  }

  function showCell(i, j) {
    if (!state.weights || i < 0 || j < 0 || i >= state.n || j >= state.n) return;
    // The selection frame is drawn last, so no neighbouring cell covers it.
    const cellRect = svg.querySelector(`rect[data-row="${i}"][data-col="${j}"]`);
    svg.querySelector('rect.selected')?.remove();
    const frame = svgElement('rect', { class: 'selected', fill: 'none' });
    for (const name of ['x', 'y', 'width', 'height']) frame.setAttribute(name, cellRect.getAttribute(name));
    svg.append(frame);
    state.selected = [i, j];
    const { tokens } = state;
    readout.textContent = `query “${tokens[i]}” (${i + 1}) → key “${tokens[j]}” (${j + 1}): ${cellValue(i, j).toFixed(4)}`;
  }

  function draw() {
    const { tokens, n } = state;
    svg.replaceChildren();
    if (n === 0) {
      svg.setAttribute('viewBox', '0 0 10 1');
      return;
    }

    const cell = 24;
    const labelChars = 10;
    const margin = labelChars * 7.5 + 8;
    const size = margin + n * cell + 4;
    svg.setAttribute('viewBox', `0 0 ${size} ${size}`);
    // Keeps the labels near their nominal 12 px on wide screens.
    svg.style.maxWidth = `${Math.round(size * 1.4)}px`;
    svg.setAttribute(
      'aria-label',
      `Attention weights of head ${Number(headSelect.value) + 1} for ${n} words; rows are queries, columns are keys`,
    );
    for (let i = 0; i < n; i += 1) {
      const label = shorten(tokens[i], labelChars);
      svg.append(
        svgElement('text', { x: margin - 6, y: margin + i * cell + cell / 2, 'text-anchor': 'end', 'dominant-baseline': 'middle', 'font-size': 12 }, label),
      );
      const cx = margin + i * cell + cell / 2;
      svg.append(
        svgElement('text', { x: cx, y: margin - 6, transform: `rotate(-60 ${cx} ${margin - 6})`, 'font-size': 12 }, label),
      );
    }

    for (let i = 0; i < n; i += 1) {
      for (let j = 0; j < n; j += 1) {
        const w = cellValue(i, j);
        const rect = svgElement('rect', {
          class: 'cell',
          x: margin + j * cell,
          y: margin + i * cell,
          width: cell,
          height: cell,
          fill: weightColour(w),
          'data-row': i,
          'data-col': j,
          'data-value': w,
        });
        rect.append(svgElement('title', {}, `${tokens[i]} → ${tokens[j]}: ${w.toFixed(4)}`));
        svg.append(rect);
      }
    }
    if (state.selected) showCell(...state.selected);
  }

  function update() {
    const all = tokenize(sentence.value);
    const tokens = all.slice(0, MAX_TOKENS);
    const settings = { causal: causal.checked, rope: ropeToggle.checked };
    const weights = tokens.length > 0 ? explorerWeights(ak, tokens, settings) : null;
    const selected = state.selected && state.selected[0] < tokens.length && state.selected[1] < tokens.length ? state.selected : null;
    state = { tokens, weights, n: tokens.length, selected };
    if (tokens.length === 0) note.textContent = 'Type at least one word.';
    else if (all.length > MAX_TOKENS) note.textContent = `Showing the first ${MAX_TOKENS} of ${all.length} words.`;
    else note.textContent = `${tokens.length} words.`;
    svg.dataset.tokens = tokens.join(' ');
    svg.dataset.causal = String(settings.causal);
    svg.dataset.rope = String(settings.rope);
    svg.dataset.head = headSelect.value;
    draw();
  }

  svg.addEventListener('mouseover', (event) => {
    const rect = event.target.closest('rect.cell');
    if (rect) showCell(Number(rect.dataset.row), Number(rect.dataset.col));
  });
  svg.addEventListener('keydown', (event) => {
    const moves = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
    const move = moves[event.key];
    if (!move || state.n === 0) return;
    event.preventDefault();
    // The first arrow key selects the top-left cell; later ones move the selection.
    const next = state.selected ? [state.selected[0] + move[0], state.selected[1] + move[1]] : [0, 0];
    showCell(Math.min(Math.max(next[0], 0), state.n - 1), Math.min(Math.max(next[1], 0), state.n - 1));
  });
  document.getElementById('explorer-form').addEventListener('submit', (event) => event.preventDefault());
  sentence.addEventListener('input', update);
  for (const control of [headSelect, causal, ropeToggle]) control.addEventListener('change', update);
  update();
}
