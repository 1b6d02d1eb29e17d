// What the charts draw: each function's request queue and desired and running instances, one sample per poll,
// kept in the page for the last WindowMs (the API gives only the present; nothing is stored on the aggregator).

/** How much history the charts show and the page keeps. */
export const WindowMs = 10 * 60 * 1000;

export class FunctionHistory {
  /** name -> array of {at, queue, desired, running}, oldest first. */
  #samples = new Map();

  /** Adds one sample of a function at time at (ms since the epoch); desired is null for an every-node function. */
  add(name, at, { queue, desired, running }) {
    let samples = this.#samples.get(name);
    if (!samples) {
      samples = [];
      this.#samples.set(name, samples);
    }

    samples.push({ at, queue, desired, running });
  }

  /** Drops samples older than the window, and the functions that are no longer defined. */
  trim(now, defined) {
    for (const [name, samples] of this.#samples) {
      if (!defined.has(name)) {
        this.#samples.delete(name);
        continue;
      }

      const first = samples.findIndex((s) => s.at >= now - WindowMs);
      samples.splice(0, first < 0 ? samples.length : first);
    }
  }

  /** The samples of a function, oldest first (empty when none). */
  of(name) {
    return this.#samples.get(name) ?? [];
  }
}
