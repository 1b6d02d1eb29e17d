// Small SVG time charts, drawn by hand (no charting library, no build step): a y axis with round ticks, the time
// axis of the last minutes ending now, and one path per series. A gap in the samples longer than gapMs (the page
// was hidden, the aggregator unreachable) breaks the line rather than drawing across it.

const SvgNs = "http://www.w3.org/2000/svg";
const Width = 480;
const Height = 150;
const Margin = { top: 10, right: 12, bottom: 22, left: 36 };

/** The spacing of the time axis's labels: the first that gives at most six over the window. */
const TimeSteps = [10000, 15000, 30000, 60000, 120000, 300000];

function svgElement(name, attributes = {}, text = null) {
  const element = document.createElementNS(SvgNs, name);
  for (const [key, value] of Object.entries(attributes)) {
    element.setAttribute(key, String(value));
  }

  if (text !== null) {
    element.textContent = text;
  }

  return element;
}

/** A round upper bound for the y axis at or above max, and its step: 1, 2, 5 times a power of ten. */
export function niceScale(max) {
  if (!(max > 0)) {
    return { top: 1, step: 1 };
  }

  const rough = max / 4;
  const power = 10 ** Math.floor(Math.log10(rough));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= rough);
  const whole = Math.max(step, 1);
  return { top: Math.ceil(max / whole) * whole, step: whole };
}

/**
 * The path data of one series: points (at, value), null values skipped, a new segment after a gap; step draws
 * each value flat until the next sample (instance counts change in steps).
 */
export function pathData(points, x, y, { step, gapMs }) {
  let d = "";
  let previous = null;
  for (const point of points) {
    if (point.value === null || point.value === undefined) {
      previous = null;
      continue;
    }

    const px = x(point.at).toFixed(1);
    const py = y(point.value).toFixed(1);
    if (previous === null || point.at - previous.at > gapMs) {
      d += `M${px},${py}`;
    } else if (step) {
      d += `H${px}V${py}`;
    } else {
      d += `L${px},${py}`;
    }

    previous = point;
  }

  return d;
}

/** The time a chart spans: what the page has sampled so far, at least a minute, at most maxMs. */
export function spanOf(oldest, now, maxMs) {
  return Math.min(maxMs, Math.max(60000, Math.ceil((now - oldest) / 60000) * 60000));
}

/**
 * Draws a chart into svg (replacing what it held): series is [{name, className, points: [{at, value}], step}],
 * over [now - windowMs, now]; label names the chart for assistive technology.
 */
export function drawChart(svg, { series, now, windowMs, gapMs, label }) {
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${Width} ${Height}`);
  svg.setAttribute("role", "img");
  svg.setAttribute("aria-label", label);
  svg.append(svgElement("title", {}, label));

  const values = series.flatMap((s) => s.points.map((p) => p.value)).filter((v) => v !== null && v !== undefined);
  const { top, step } = niceScale(Math.max(0, ...values));
  const left = Margin.left;
  const right = Width - Margin.right;
  const bottom = Height - Margin.bottom;
  const x = (at) => left + ((at - (now - windowMs)) / windowMs) * (right - left);
  const y = (value) => bottom - (value / top) * (bottom - Margin.top);

  const axes = svgElement("g", { class: "axes", "aria-hidden": "true" });
  for (let tick = 0; tick <= top + step / 2; tick += step) {
    axes.append(svgElement("line", { class: "grid", x1: left, x2: right, y1: y(tick), y2: y(tick) }));
    axes.append(svgElement("text", { class: "tick", x: left - 4, y: y(tick) + 4, "text-anchor": "end" }, formatTick(tick)));
  }

  const timeStep = TimeSteps.find((t) => windowMs / t <= 6) ?? TimeSteps[TimeSteps.length - 1];
  for (let back = 0; back <= windowMs; back += timeStep) {
    const text = back === 0 ? "now" : timeStep < 60000 ? `−${back / 1000} s` : `−${back / 60000} min`;
    axes.append(svgElement("text", { class: "tick", x: x(now - back), y: Height - 6, "text-anchor": back === 0 ? "end" : "middle" }, text));
  }

  svg.append(axes);
  for (const s of series) {
    const d = pathData(s.points, x, y, { step: s.step, gapMs });
    svg.append(svgElement("path", { class: `series ${s.className}`, d, "data-series": s.name, "data-points": s.points.filter((p) => p.value !== null).length }));
  }
}

function formatTick(value) {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}
