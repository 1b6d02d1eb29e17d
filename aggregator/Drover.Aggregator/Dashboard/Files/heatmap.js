// The GPU heat map: one cell per GPU (a MIG instance is a cell of its own), coloured by the chosen measure, its
// value written in it (colour is never the only carrier), health shown by the cell's border and a mark, and
// everything said in its accessible name.

/** The measures a cell can be coloured by: how to read a GPU's value (0..1 for the colour) and how to write it. */
export const Measures = {
  utilization: {
    label: "Utilization",
    level: (gpu) => gpu.utilizationGpuPercent / 100,
    text: (gpu) => `${gpu.utilizationGpuPercent}%`,
  },
  memory: {
    label: "Memory used",
    level: (gpu) => (gpu.memoryTotalBytes > 0 ? gpu.memoryUsedBytes / gpu.memoryTotalBytes : 0),
    text: (gpu) => `${gib(gpu.memoryUsedBytes)} GiB`,
  },
  queue: {
    label: "Command queue",
    // Queued GPU work has no upper bound: 8 or more is the hottest colour.
    level: (gpu) => Math.min(gpu.commandQueueLength / 8, 1),
    text: (gpu) => (gpu.commandQueueSource === "unknown" ? "?" : formatQueue(gpu.commandQueueLength)),
  },
};

export function gib(bytes) {
  return (bytes / 2 ** 30).toFixed(1);
}

function formatQueue(length) {
  return Number.isInteger(length) ? String(length) : length.toFixed(1);
}

/** The colour of a level 0..1: from a cool blue-green through yellow to red, light enough for dark text. */
export function heatColour(level) {
  const clamped = Math.max(0, Math.min(1, Number.isFinite(level) ? level : 0));
  const hue = 190 - clamped * 190;
  const lightness = 88 - clamped * 30;
  return `hsl(${hue.toFixed(0)} 75% ${lightness.toFixed(0)}%)`;
}

/** Everything a cell stands for, as one sentence (its accessible name and tooltip). */
export function describeGpu(gpu, nodeLost) {
  const name = gpu.mig ? `MIG ${gpu.mig.profile || "instance"} of GPU ${gpu.index}` : `GPU ${gpu.index}`;
  const parts = [
    `${name} (${gpu.name})`,
    `utilization ${gpu.utilizationGpuPercent}%`,
    `memory ${gib(gpu.memoryUsedBytes)} of ${gib(gpu.memoryTotalBytes)} GiB`,
    `command queue ${formatQueue(gpu.commandQueueLength)} (${gpu.commandQueueSource})`,
    `health ${gpu.health}${gpu.healthReason ? `: ${gpu.healthReason}` : ""}`,
  ];
  if (nodeLost) {
    parts.push("node lost: last known values");
  }

  return parts.join(", ");
}

/** One GPU's cell. */
export function gpuCell(gpu, measure, nodeLost) {
  const cell = document.createElement("li");
  cell.className = "gpu";
  cell.dataset.gpu = String(gpu.index);
  cell.dataset.uuid = gpu.uuid;
  cell.dataset.health = gpu.health;
  if (gpu.mig) {
    cell.classList.add("mig");
  }

  if (nodeLost) {
    cell.classList.add("stale");
  }

  const description = describeGpu(gpu, nodeLost);
  cell.title = description;
  cell.setAttribute("aria-label", description);
  cell.setAttribute("role", "img");

  // CSSOM, not a style attribute: the Content-Security-Policy allows no inline style.
  cell.style.backgroundColor = nodeLost ? "" : heatColour(Measures[measure].level(gpu));

  const label = document.createElement("span");
  label.className = "gpu-index";
  // A MIG instance follows its GPU, whose index it shares: its profile tells it apart.
  label.textContent = gpu.mig ? gpu.mig.profile || "MIG" : String(gpu.index);
  const value = document.createElement("span");
  value.className = "gpu-value";
  value.textContent = Measures[measure].text(gpu);
  cell.append(label, value);
  if (gpu.health !== "ok") {
    const mark = document.createElement("span");
    mark.className = "gpu-health";
    mark.textContent = gpu.health === "degraded" ? "!" : "✕";
    cell.append(mark);
  }

  return cell;
}
