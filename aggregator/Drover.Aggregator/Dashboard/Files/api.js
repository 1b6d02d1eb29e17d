// The management API as the dashboard uses it: the same endpoints and bearer token as droverctl.
// Every failure becomes an ApiError whose kind says what the page should tell the operator.

const TokenKey = "drover.token";

/** How long one request may take, connecting included, before the aggregator counts as unreachable. */
export const RequestTimeoutMs = 8000;

/** A failed request: kind is "unreachable", "refused" (401/403), "limited" (429) or "failed" (any other answer). */
export class ApiError extends Error {
  constructor(kind, message, { status = 0, retryAfterSeconds = 0 } = {}) {
    super(message);
    this.kind = kind;
    this.status = status;
    this.retryAfterSeconds = retryAfterSeconds;
  }
}

/**
 * The token: from the URL fragment (#token=...) when there is one, which is then kept in sessionStorage and removed
 * from the address bar (so it is neither bookmarked nor left in the history), else from sessionStorage. "" when none.
 */
export function takeToken() {
  const fragment = new URLSearchParams(location.hash.replace(/^#/, ""));
  const given = fragment.get("token");
  if (given !== null) {
    storeToken(given);
    history.replaceState(null, "", location.pathname + location.search);
  }

  return sessionStorage.getItem(TokenKey) ?? "";
}

export function storeToken(token) {
  const trimmed = token.trim();
  if (trimmed === "") {
    sessionStorage.removeItem(TokenKey);
  } else {
    sessionStorage.setItem(TokenKey, trimmed);
  }
}

export function forgetToken() {
  sessionStorage.removeItem(TokenKey);
}

/** The headers of an API request: Authorization only when there is a token (an insecureApi aggregator needs none). */
export function authHeaders(token, extra = {}) {
  return token ? { ...extra, Authorization: `Bearer ${token}` } : { ...extra };
}

/** GET path as JSON; throws ApiError. */
export async function getJson(path, token, signal) {
  const response = await send(path, token, signal, { Accept: "application/json" });
  try {
    return await response.json();
  } catch (error) {
    if (signal?.aborted) {
      throw error;
    }

    throw new ApiError("unreachable", `${path}: the answer did not arrive whole (${error.message ?? error}).`);
  }
}

/**
 * Sends a GET and returns the response when it succeeded; throws ApiError otherwise. The time limit covers the
 * answer's headers and, unless stream is set (the event stream never ends), its body as well.
 */
export async function send(path, token, signal, headers = {}, { stream = false } = {}) {
  const limit = new AbortController();
  const timer = setTimeout(() => limit.abort(), RequestTimeoutMs);
  const both = signal ? AbortSignal.any([signal, limit.signal]) : limit.signal;
  let response;
  try {
    response = await fetch(path, { headers: authHeaders(token, headers), signal: both, cache: "no-store" });
  } catch (error) {
    clearTimeout(timer);
    if (signal?.aborted) {
      throw error;
    }

    const why = limit.signal.aborted ? `no answer within ${RequestTimeoutMs / 1000} s` : "the connection failed";
    throw new ApiError("unreachable", `The aggregator at ${location.origin} cannot be reached (${why}).`);
  }

  if (stream || !response.ok) {
    clearTimeout(timer);
  }

  if (response.ok) {
    return response;
  }

  const detail = await problemDetail(response);
  if (response.status === 401 || response.status === 403) {
    const message = token
      ? `The aggregator refused the token (${response.status}): ${detail}`
      : `The aggregator needs a token (${response.status}): ${detail}`;
    throw new ApiError("refused", message, { status: response.status });
  }

  if (response.status === 429) {
    const retryAfterSeconds = Number.parseInt(response.headers.get("Retry-After") ?? "", 10) || 10;
    throw new ApiError("limited", `Too many requests (429): ${detail}`, { status: 429, retryAfterSeconds });
  }

  throw new ApiError("failed", `${path} answered ${response.status}: ${detail}`, { status: response.status });
}

/** The title and detail of a problem+json answer, else its status text. */
async function problemDetail(response) {
  try {
    const problem = await response.json();
    return [problem.title, problem.detail].filter(Boolean).join(": ") || response.statusText;
  } catch {
    return response.statusText || "no detail";
  }
}

/**
 * Runs task over items with at most limit at once (a browser holds six connections to one origin, and the event
 * stream keeps one of them).
 */
export async function eachLimited(items, limit, task) {
  const results = new Array(items.length);
  let next = 0;
  async function worker() {
    while (next < items.length) {
      const index = next++;
      results[index] = await task(items[index]);
    }
  }

  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
