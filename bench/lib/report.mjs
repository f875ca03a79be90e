// Markdown table, target checks and SVG chart of a benchmark report.
import { ATTENTION_PART, IN_WASM_MEMORY } from './workloads.mjs';

const LIB_NAMES = {
  'attnkit-wasm': 'attnkit wasm',
  'attnkit-native': 'attnkit native',
  'ort-web': 'onnxruntime-web',
  'ort-node': 'onnxruntime-node',
  'tfjs-wasm': 'tfjs-wasm',
  'plain-js': 'plain JS',
};

export function configLabel({ lib, threads }) {
  return `${LIB_NAMES[lib] ?? lib} ×${threads}`;
}

function fmt(x, digits = 2) {
  if (x === undefined || x === null || !Number.isFinite(x)) return '—';
  if (x >= 100) return x.toFixed(0);
  if (x >= 10) return x.toFixed(1);
  return x.toFixed(digits);
}

function results(report) {
  return report.records.filter((r) => r.type === 'result');
}

// Result rows in workload order: one per (workload, variant).
function rowKeys(report) {
  const keys = [];
  for (const w of report.workloads) {
    const variants = new Set(results(report).filter((r) => r.workload === w.id).map((r) => r.variant ?? ''));
    for (const v of [...variants].sort((a, b) => (a === '' || a === 'copying' ? -1 : b === '' || b === 'copying' ? 1 : 0))) {
      keys.push({ workload: w, variant: v });
    }
  }
  return keys;
}

function find(report, lib, threads, workloadId, variant) {
  return results(report).find(
    (r) => r.lib === lib && r.requestedThreads === threads && r.workload === workloadId && (r.variant ?? '') === variant,
  );
}

// The onnxruntime and other libraries have no variants, so a variant row
// compares against their single result.
function findAny(report, lib, threads, workloadId, variant) {
  return find(report, lib, threads, workloadId, variant) ?? find(report, lib, threads, workloadId, '');
}

function okTime(record) {
  return record && record.status === 'ok' ? record.medianMs : undefined;
}

function rowLabel({ workload, variant }) {
  return variant ? `${workload.label}, ${variant}` : workload.label;
}

// Floating-point operations of a row: the attention part of (b) leaves out
// the projection.
function rowFlops({ workload, variant }) {
  return variant === ATTENTION_PART ? workload.attentionFlops : workload.flops;
}

// The attention part of (b) does less work than the other libraries' whole
// operation, so it gets no speedup.
function comparable({ variant }) {
  return variant !== ATTENTION_PART;
}

/**
 * Returns the bytes that bound a memory-bound workload (K and V for decode,
 * x in and out for RoPE), or undefined for compute-bound ones.
 */
function boundBytes(workload) {
  const s = workload.shape;
  if (workload.kind === 'rope') return 2 * 4 * s.batch * s.seqLen * s.heads * s.dim;
  if (workload.kind === 'attention' && s.qLen === 1) return 2 * 4 * s.batch * s.kvHeads * s.kvLen * s.dim;
  return undefined;
}

function targetRows(report) {
  const t = (w, v = '') => okTime(findAny(report, 'attnkit-wasm', 1, w, v));
  const t2 = (w, v = '') => okTime(findAny(report, 'attnkit-wasm', 2, w, v));
  const ortWeb = (w) => okTime(findAny(report, 'ort-web', 1, w, ''));
  const workload = (id) => report.workloads.find((w) => w.id === id) ?? null;
  const gflops = (id, ms) => (workload(id) && ms ? workload(id).flops / ms / 1e6 : undefined);
  const gbps = (id, ms) => (workload(id) && ms ? boundBytes(workload(id)) / ms / 1e6 : undefined);
  const { simdGflops, copyGBps, readGBps } = report.peaks;
  const rows = [];
  const add = (target, measured, met) => rows.push([target, measured, met === undefined ? 'not measured' : met ? 'met' : 'missed']);
  const ratio = (a, b) => (a && b ? b / a : undefined);

  // The peak share counts the attention part: for (a) the call on tensors
  // in WebAssembly memory, for (b) ak.attention without the projection.
  // The forms with copies are shown beside it.
  const parts = {
    a: { ms: t('a', IN_WASM_MEMORY), flops: workload('a')?.flops, form: 'tensors in wasm memory', whole: 'with copies' },
    b: { ms: t('b', ATTENTION_PART), flops: workload('b')?.attentionFlops, form: 'attention without the projection, in wasm memory', whole: 'whole op with projection and copies' },
  };
  for (const id of ['a', 'b']) {
    const speedup = ratio(t(id), ortWeb(id));
    add(`(${id}) ≥ 1.5× onnxruntime-web ×1`, `${fmt(speedup)}×`, speedup === undefined ? undefined : speedup >= 1.5);
    const part = parts[id];
    const partGflops = part.ms && part.flops ? part.flops / part.ms / 1e6 : undefined;
    const share = partGflops / simdGflops;
    const wholeShare = gflops(id, t(id)) / simdGflops;
    add(`(${id}) attention part ≥ 75 % of the SIMD128 peak`,
      `${fmt(partGflops)} GFLOP/s = ${fmt(100 * share, 0)} %, ${part.form} (${part.whole}: ${fmt(100 * wholeShare, 0)} %)`,
      Number.isFinite(share) ? share >= 0.75 : undefined);
  }
  for (const id of ['c1024', 'c2048']) {
    const speedup = ratio(t(id), ortWeb(id));
    add(`(${id}) causal ≥ 3× onnxruntime-web ×1`, `${fmt(speedup)}×`, speedup === undefined ? undefined : speedup >= 3);
  }
  const inWasm = 'KV cache in wasm memory';
  const decode = t('d', inWasm);
  add('(d) decode, KV in wasm memory, ≥ 3× onnxruntime-web ×1', `${fmt(ratio(decode, ortWeb('d')))}× (copying form: ${fmt(ratio(t('d', 'copying'), ortWeb('d')))}×)`,
    decode ? ratio(decode, ortWeb('d')) >= 3 : undefined);
  add('(d) K/V read at ≥ 60 % of the wasm read bandwidth', `${fmt(gbps('d', decode))} GB/s = ${fmt((100 * gbps('d', decode)) / readGBps, 0)} %`,
    decode ? gbps('d', decode) >= 0.6 * readGBps : undefined);
  const gqa = t('d-gqa', inWasm) ?? t('d-gqa', 'copying');
  const full = decode ?? t('d', 'copying');
  const copyingRatio = ratio(t('d-gqa', 'copying'), t('d', 'copying'));
  add('(d) GQA decode ≥ 3× the same shape without sharing', `${fmt(ratio(gqa, full))}× (copying form: ${fmt(copyingRatio)}×)`,
    gqa && full ? full / gqa >= 3 : undefined);
  // Both forms in WebAssembly memory count: into a second tensor and in place.
  const ropeOut = t('e', 'in wasm memory');
  const ropeInPlace = t('e', 'in place in wasm memory');
  const ropeHeap = ropeInPlace && (!ropeOut || ropeInPlace < ropeOut) ? ropeInPlace : ropeOut;
  const ropeShare = (ms) => `${fmt(gbps('e', ms))} GB/s = ${fmt((100 * gbps('e', ms)) / copyGBps, 0)} %`;
  const ropeForms = ropeInPlace && ropeOut ? ` in place (into a second tensor: ${ropeShare(ropeOut)})` : '';
  add('(e) RoPE in wasm memory ≥ 60 % of the copy bandwidth', `${ropeShare(ropeHeap)}${ropeForms}`,
    ropeHeap ? gbps('e', ropeHeap) >= 0.6 * copyGBps : undefined);
  const plainRope = okTime(findAny(report, 'plain-js', 1, 'e', ''));
  add('(e) RoPE with copies ≥ 2× plain JS', `${fmt(ratio(t('e', 'copying'), plainRope))}×`, t('e', 'copying') && plainRope ? plainRope / t('e', 'copying') >= 2 : undefined);
  const long = findAny(report, 'attnkit-wasm', 1, 'f32768', '');
  const nativeLong = findAny(report, 'attnkit-native', 1, 'f32768', '');
  const growth = long?.extraMemoryBytes;
  const peak = nativeLong?.extraMemoryBytes;
  const limit = 16 * 2 ** 20;
  add('(f) S = 32768 runs in wasm with < 16 MB extra memory',
    long?.status === 'ok'
      ? `ran in ${fmt(long.medianMs)} ms; wasm memory growth ${fmt(growth / 2 ** 20)} MiB; native peak extra heap ${peak === undefined ? '—' : `${fmt(peak / 1024)} KiB`}`
      : long ? `${long.status}: ${long.note}` : 'not run',
    long?.status === 'ok' && growth !== undefined ? growth < limit && (peak === undefined || peak < limit) : undefined);
  for (const id of ['b', 'c1024']) {
    const scaling = ratio(t2(id), t(id));
    add(`(${id}) 2 threads ≥ 1.8× 1 thread`, `${fmt(scaling)}×`, scaling === undefined ? undefined : scaling >= 1.8);
  }
  const native = okTime(findAny(report, 'attnkit-native', 1, 'b', ''));
  const ortNode = okTime(findAny(report, 'ort-node', 1, 'b', ''));
  add('(b) native at least matches onnxruntime-node ×1', `${fmt(native)} ms vs ${fmt(ortNode)} ms`, native && ortNode ? native <= ortNode : undefined);
  add('single-thread .wasm ≤ 150 KB gzip', `${fmt(report.size.wasmGzipBytes / 1000)} KB`, report.size.wasmGzipBytes <= 150_000);
  add('start-up < 30 ms in Node', `${fmt(report.size.startupMs)} ms`, report.size.startupMs < 30);
  return rows;
}

/** Renders the report as Markdown. */
export function renderMarkdown(report) {
  const m = report.machine;
  const p = report.peaks;
  const lines = [];
  lines.push('# attnkit benchmark results', '');
  lines.push(`Command: \`npm run bench${report.quick ? ' -- --quick' : ''}\`, ${m.date}.`);
  lines.push(`Machine: ${m.cpu}, ${m.cores} cores, ${m.memoryGiB} GiB, ${m.os}, Node ${m.node}.`, '');
  lines.push(`Peaks measured in the same run: WebAssembly SIMD128 multiply+add ${fmt(p.simdGflops)} GFLOP/s per thread, ` +
    `wasm copy bandwidth ${fmt(p.copyGBps)} GB/s (read + write), wasm read bandwidth ${fmt(p.readGBps)} GB/s, ` +
    `native FMA ${fmt(p.nativeFmaGflops)} GFLOP/s per core (${p.nativeArch}).`);
  lines.push(`attnkit.wasm: ${report.size.wasmBytes} bytes, ${report.size.wasmGzipBytes} gzip-compressed; start-up (import + instantiate, best of 5): ${fmt(report.size.startupMs)} ms.`, '');

  lines.push('## Median time in ms (minimum in parentheses)', '');
  const header = ['workload', ...report.configs.map(configLabel)];
  lines.push(`| ${header.join(' | ')} |`, `|${header.map(() => '---').join('|')}|`);
  const notes = [];
  for (const key of rowKeys(report)) {
    const cells = report.configs.map((c) => {
      const r = find(report, c.lib, c.threads, key.workload.id, key.variant);
      if (!r) return '';
      if (r.status === 'ok') return `${fmt(r.medianMs)} (${fmt(r.minMs)})`;
      const note = String(r.note).trim().split('\n')[0];
      notes.push(`${configLabel(c)}, ${rowLabel(key)}: ${note.startsWith(r.status) ? note : `${r.status}: ${note}`}`);
      return r.status;
    });
    lines.push(`| ${rowLabel(key)} | ${cells.join(' | ')} |`);
  }
  lines.push('');

  lines.push('## attnkit wasm ×1 against onnxruntime-web ×1', '');
  lines.push('| workload | speedup | attnkit GFLOP/s | % of SIMD128 peak | attnkit GB/s (K+V or x in+out) |', '|---|---|---|---|---|');
  for (const key of rowKeys(report)) {
    const ms = okTime(find(report, 'attnkit-wasm', 1, key.workload.id, key.variant));
    const ort = comparable(key) ? okTime(findAny(report, 'ort-web', 1, key.workload.id, key.variant)) : undefined;
    if (!ms) continue;
    const gflops = rowFlops(key) / ms / 1e6;
    lines.push(`| ${rowLabel(key)} | ${ort ? `${fmt(ort / ms)}×` : '—'} | ${fmt(gflops)} | ${fmt((100 * gflops) / p.simdGflops, 0)} % | ${boundBytes(key.workload) ? fmt(boundBytes(key.workload) / ms / 1e6) : '—'} |`);
  }
  lines.push('');

  const longRows = report.workloads.filter((w) => w.longContext);
  if (longRows.length) {
    lines.push('## Long context: extra memory of one call', '');
    lines.push('attnkit wasm: growth of a fresh instance\'s WebAssembly memory during the calls, with q, k, v and out already allocated (Emscripten grows by at least 20 %, so this overstates). attnkit native: peak heap bytes allocated during one call, counted by the harness\'s malloc.', '');
    lines.push('| workload | attnkit wasm growth | attnkit native peak | score matrix it avoids |', '|---|---|---|---|');
    for (const w of longRows) {
      const wasm = findAny(report, 'attnkit-wasm', 1, w.id, '');
      const native = findAny(report, 'attnkit-native', 1, w.id, '');
      const bytes = (r) => (r?.status === 'ok' && r.extraMemoryBytes !== undefined ? `${fmt(r.extraMemoryBytes / 1024)} KiB` : r ? r.status : '—');
      lines.push(`| ${w.label} | ${bytes(wasm)} | ${bytes(native)} | ${fmt((4 * w.shape.qLen * w.shape.kvLen) / 2 ** 20)} MiB |`);
    }
    lines.push('');
  }

  lines.push('## Targets', '', '| target | measured | status |', '|---|---|---|');
  for (const row of targetRows(report)) lines.push(`| ${row.join(' | ')} |`);
  lines.push('');

  lines.push('## Forms and notes', '');
  const forms = new Map();
  for (const r of results(report)) {
    if (r.status !== 'ok') continue;
    const label = configLabel({ lib: r.lib, threads: r.requestedThreads });
    const key = `${LIB_NAMES[r.lib] ?? r.lib}: ${r.form}`;
    if (!forms.has(key)) forms.set(key, new Set());
    forms.get(key).add(r.workload);
    if (r.note) notes.push(`${label}, ${r.workload}: ${r.note}`);
  }
  for (const [form, ids] of forms) lines.push(`- ${form} (${[...ids].join(', ')})`);
  for (const r of report.records.filter((x) => x.type === 'library' && x.note)) {
    notes.push(`${configLabel({ lib: r.lib, threads: r.requestedThreads })}: ${r.note}`);
  }
  for (const r of report.records.filter((x) => x.type === 'fatal')) {
    notes.push(`${configLabel({ lib: r.lib, threads: r.requestedThreads })}: the process failed: ${r.note}`);
  }
  for (const n of [...new Set(notes)]) lines.push(`- ${n}`);
  lines.push('');
  return `${lines.join('\n')}\n`;
}

function escapeXml(text) {
  return String(text).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/**
 * Renders a horizontal bar chart of speedup over onnxruntime-web ×1 per
 * workload, on a log2 axis from 1/16× to 16×.
 */
export function renderChart(report) {
  const palette = ['#1b7837', '#5aae61', '#762a83', '#2166ac', '#67a9cf', '#b2182b', '#ef8a62', '#8c510a', '#999999'];
  const keys = rowKeys(report).filter(comparable);
  const barHeight = 9;
  const groupHeight = barHeight * report.configs.length + 14;
  const left = 330;
  const plotWidth = 520;
  const top = 40;
  const height = top + keys.length * groupHeight + 30 + 16 * report.configs.length;
  const x = (speedup) => left + ((Math.log2(Math.min(Math.max(speedup, 1 / 16), 16)) + 4) / 8) * plotWidth;
  const out = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${left + plotWidth + 70}" height="${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<text x="10" y="18" font-size="14">Speedup over onnxruntime-web ×1 (median time, log scale)</text>`);
  for (const tick of [1 / 16, 1 / 4, 1, 4, 16]) {
    out.push(`<line x1="${x(tick)}" y1="${top - 8}" x2="${x(tick)}" y2="${top + keys.length * groupHeight}" stroke="${tick === 1 ? '#000' : '#ddd'}"/>`);
    out.push(`<text x="${x(tick)}" y="${top - 12}" text-anchor="middle">${tick < 1 ? `1/${1 / tick}` : tick}×</text>`);
  }
  keys.forEach((key, g) => {
    const y0 = top + g * groupHeight;
    const ort = comparable(key) ? okTime(findAny(report, 'ort-web', 1, key.workload.id, key.variant)) : undefined;
    out.push(`<text x="${left - 6}" y="${y0 + groupHeight / 2}" text-anchor="end">${escapeXml(rowLabel(key))}</text>`);
    report.configs.forEach((c, i) => {
      const ms = okTime(find(report, c.lib, c.threads, key.workload.id, key.variant));
      if (!ms || !ort) return;
      const speedup = ort / ms;
      const y = y0 + i * barHeight;
      const [a, b] = [x(1), x(speedup)].sort((m, n) => m - n);
      out.push(`<rect x="${a}" y="${y}" width="${Math.max(b - a, 1)}" height="${barHeight - 1}" fill="${palette[i % palette.length]}"/>`);
      out.push(`<text x="${b + 3}" y="${y + barHeight - 1}" font-size="8">${fmt(speedup)}</text>`);
    });
  });
  const legendTop = top + keys.length * groupHeight + 20;
  report.configs.forEach((c, i) => {
    out.push(`<rect x="${left}" y="${legendTop + i * 16 - 9}" width="10" height="10" fill="${palette[i % palette.length]}"/>`);
    out.push(`<text x="${left + 16}" y="${legendTop + i * 16}">${escapeXml(configLabel(c))}</text>`);
  });
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
