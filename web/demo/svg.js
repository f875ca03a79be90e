// Small helpers to build SVG charts without a library.
const SVG_NS = 'http://www.w3.org/2000/svg';

/** Creates an SVG element with attributes and optional text content. */
export function svgElement(name, attributes = {}, text = undefined) {
  const element = document.createElementNS(SVG_NS, name);
  for (const [key, value] of Object.entries(attributes)) element.setAttribute(key, String(value));
  if (text !== undefined) element.textContent = text;
  return element;
}

/** Formats a duration in milliseconds with three significant digits. */
export function formatMs(ms) {
  if (ms >= 1000) return `${(ms / 1000).toPrecision(3)} s`;
  if (ms >= 1) return `${ms.toPrecision(3)} ms`;
  return `${(ms * 1000).toPrecision(3)} µs`;
}

/** Shortens a label to at most `max` characters, ending with an ellipsis when cut. */
export function shorten(label, max) {
  return label.length <= max ? label : `${label.slice(0, max - 1)}…`;
}

/**
 * Returns the width in CSS pixels to draw a chart at, so that its text keeps
 * its size: the element's current width, clamped to [min, max].
 */
export function chartWidth(svg, min = 300, max = 720) {
  const width = svg.parentElement?.clientWidth || max;
  return Math.round(Math.min(Math.max(width, min), max));
}

/** Calls redraw() when the width of the chart's container changes. */
export function redrawOnResize(svg, redraw) {
  let lastWidth = svg.parentElement.clientWidth;
  new ResizeObserver(() => {
    const width = svg.parentElement.clientWidth;
    if (Math.abs(width - lastWidth) < 8) return;
    lastWidth = width;
    redraw();
  }).observe(svg.parentElement);
}
