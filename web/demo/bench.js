// The benchmark panel: sends the chosen shapes to the worker, shows its
// progress and draws the times as a bar chart.
import { chartWidth, formatMs, redrawOnResize, svgElement } from './svg.js';

const HEADS = 3;
const HEAD_DIM = 64;

function chosenShapes(form) {
  return [...form.querySelectorAll('input[name="shape"]:checked')].map((input) => {
    const [batch, seq] = input.value.split('x').map(Number);
    return { batch, seq, heads: HEADS, headDim: HEAD_DIM, label: `${batch} × ${seq}` };
  });
}

// One row per result: a label, then a bar for attnkit (with the speed-up
// written on it) and one for JavaScript, scaled to the slower of the two.
function drawChart(svg, results) {
  const width = chartWidth(svg);
  const barLeft = 86;
  const barRight = width - 4;
  const rowHeight = 62;
  svg.replaceChildren();
  svg.setAttribute('viewBox', `0 0 ${width} ${Math.max(results.length * rowHeight, 1)}`);
  results.forEach((r, i) => {
    const y0 = i * rowHeight;
    const speedup = r.jsMs / r.libMs;
    const row = svgElement('g', { class: 'bench-row', 'data-op': r.op, 'data-shape': r.shape, 'data-speedup': speedup });
    row.append(svgElement('text', { x: 0, y: y0 + 14, 'font-size': 13, 'font-weight': 600 }, `${r.op}, ${r.shape}`));
    const slower = Math.max(r.libMs, r.jsMs);
    const speedupText = speedup >= 1 ? `${speedup.toFixed(1)}× faster` : `${(1 / speedup).toFixed(1)}× slower`;
    [
      ['attnkit', r.libMs, '#1f5fbf', `${formatMs(r.libMs)}, ${speedupText}`],
      ['JavaScript', r.jsMs, '#c2410c', formatMs(r.jsMs)],
    ].forEach(([name, ms, colour, text], k) => {
      const y = y0 + 22 + k * 18;
      const barWidth = Math.max(((barRight - barLeft) * ms) / slower, 1);
      row.append(svgElement('text', { x: 0, y: y + 8, 'dominant-baseline': 'middle', 'font-size': 12 }, name));
      row.append(svgElement('rect', { x: barLeft, y, width: barWidth, height: 15, fill: colour, rx: 2, 'data-ms': ms }));
      // The time (and, on the attnkit bar, the speed-up) goes right of a short
      // bar and inside a long one, so it never runs past the chart's edge.
      const inside = barLeft + barWidth + 150 > width;
      row.append(
        svgElement(
          'text',
          {
            x: inside ? barLeft + barWidth - 6 : barLeft + barWidth + 6,
            y: y + 8,
            'text-anchor': inside ? 'end' : 'start',
            'dominant-baseline': 'middle',
            'font-size': 12,
            'font-weight': k === 0 ? 600 : 400,
            fill: inside ? '#ffffff' : '#1b1f24',
            class: k === 0 ? 'speedup' : 'time',
          },
          text,
        ),
      );
    });
    svg.append(row);
  });
}

/**
 * Sets up the benchmark form. `runInWorker(request, onMessage)` sends a
 * request to the worker and resolves when it is done.
 */
export function createBenchmark(runInWorker) {
  const form = document.getElementById('bench-form');
  const button = document.getElementById('bench-run');
  const repeats = document.getElementById('bench-repeats');
  const progress = document.getElementById('bench-progress');
  const status = document.getElementById('bench-status');
  const svg = document.getElementById('bench-chart');
  const section = document.getElementById('bench');
  const results = [];
  redrawOnResize(svg, () => drawChart(svg, results));

  form.addEventListener('submit', async (event) => {
    event.preventDefault();
    const shapes = chosenShapes(form);
    if (shapes.length === 0) {
      status.textContent = 'Choose at least one shape.';
      return;
    }
    results.length = 0;
    button.disabled = true;
    section.dataset.state = 'running';
    status.textContent = 'starting…';
    progress.value = 0;
    drawChart(svg, results);
    try {
      await runInWorker({ type: 'bench', shapes, repeats: Number(repeats.value) }, (message) => {
        if (message.type === 'progress') {
          progress.max = message.total;
          progress.value = message.done;
          status.textContent = `${message.done} of ${message.total} runs: ${message.label}`;
        } else if (message.type === 'bench') {
          results.push(message);
          drawChart(svg, results);
        }
      });
      status.textContent = `done: ${results.length} measurements`;
      section.dataset.state = 'done';
    } catch (error) {
      status.textContent = `The benchmark failed: ${error.message}`;
      section.dataset.state = 'failed';
    } finally {
      button.disabled = false;
    }
  });

  return {
    enable() {
      button.disabled = false;
      status.textContent = 'ready';
    },
  };
}
