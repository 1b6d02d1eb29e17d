// The live event stream (GET /v1/events, server-sent events) read through fetch and a streaming body reader:
// EventSource cannot send the Authorization header the API needs. Reconnects with the last id as Last-Event-ID,
// so a broken or ended stream resumes every channel where it was.

import { ApiError, send } from "./api.js";

/** Splits a text/event-stream into events as the HTML standard's parser does: id, event, data, comments ignored. */
export class SseParser {
  #buffer = "";
  #data = [];
  #event = "";
  #id = null;
  #afterCr = false;
  lastId = null;

  /** Feeds a chunk of text; calls onEvent({id, event, data}) for each event completed by it. */
  push(text, onEvent) {
    if (text === "") {
      return;
    }

    // A chunk that ended with \r ended a line; a \n starting the next one is the rest of that \r\n.
    if (this.#afterCr && text.startsWith("\n")) {
      text = text.slice(1);
    }

    this.#afterCr = false;
    this.#buffer += text;
    for (;;) {
      const end = this.#buffer.search(/\r\n|\r|\n/);
      if (end < 0) {
        return;
      }

      const line = this.#buffer.slice(0, end);
      const crLf = this.#buffer.startsWith("\r\n", end);
      this.#afterCr = !crLf && this.#buffer[end] === "\r" && end === this.#buffer.length - 1;
      this.#buffer = this.#buffer.slice(end + (crLf ? 2 : 1));
      this.#line(line, onEvent);
    }
  }

  #line(line, onEvent) {
    if (line === "") {
      if (this.#id !== null) {
        this.lastId = this.#id;
      }

      if (this.#data.length > 0) {
        onEvent({ id: this.lastId, event: this.#event || "message", data: this.#data.join("\n") });
      }

      this.#data = [];
      this.#event = "";
      this.#id = null;
      return;
    }

    if (line.startsWith(":")) {
      return;
    }

    const colon = line.indexOf(":");
    const field = colon < 0 ? line : line.slice(0, colon);
    let value = colon < 0 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) {
      value = value.slice(1);
    }

    if (field === "data") {
      this.#data.push(value);
    } else if (field === "event") {
      this.#event = value;
    } else if (field === "id" && !value.includes("\0")) {
      this.#id = value;
    }
  }
}

/**
 * Follows the event stream until stop() is called. onEvent gets each event with its data parsed as JSON;
 * onState gets "open", or an ApiError when the stream could not be opened or broke (it is retried after a pause
 * unless the token was refused, which needs a new token).
 */
export function followEvents(token, { onEvent, onState }) {
  const stopping = new AbortController();
  let lastId = null;

  async function once() {
    const headers = { Accept: "text/event-stream" };
    if (lastId) {
      headers["Last-Event-ID"] = lastId;
    }

    // The stream itself has no time limit; send() bounds only the wait for its headers.
    const response = await send("/v1/events", token, stopping.signal, headers, { stream: true });
    onState("open");
    const parser = new SseParser();
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) {
          return;
        }

        parser.push(value, (event) => {
          lastId = event.id ?? lastId;
          let data;
          try {
            data = JSON.parse(event.data);
          } catch {
            data = { text: event.data };
          }

          onEvent({ id: event.id, event: event.event, data });
        });
      }
    } finally {
      reader.releaseLock();
    }
  }

  (async () => {
    let pauseMs = 1000;
    while (!stopping.signal.aborted) {
      try {
        await once();
        pauseMs = 1000;
        if (!stopping.signal.aborted) {
          onState(new ApiError("ended", "The event stream ended; resuming it."));
        }
      } catch (error) {
        if (stopping.signal.aborted) {
          return;
        }

        const failure = error instanceof ApiError
          ? error
          : new ApiError("unreachable", `The event stream from ${location.origin} broke (${error.message ?? error}).`);
        onState(failure);
        if (failure.kind === "refused") {
          return;
        }

        pauseMs = failure.kind === "limited" ? failure.retryAfterSeconds * 1000 : Math.min(pauseMs * 2, 10000);
      }

      await new Promise((resolve) => setTimeout(resolve, pauseMs));
    }
  })();

  return { stop: () => stopping.abort() };
}
