// Talks to the Companion's JSON API. Every URL is built from this module's own URL, so the app works under a
// sub-path, behind a proxy and inside every host (never from "/").

export const API_BASE = new URL("../api/", import.meta.url);

export class ApiError extends Error {
  constructor(message, { code = "error", status = 0 } = {}) {
    super(message);
    this.code = code;
    this.status = status;
  }
}

/** JSON in, JSON out; an error answer becomes an ApiError carrying the server's one line. */
export async function api(path, { method = "GET", body, query, signal } = {}) {
  const url = new URL(path, API_BASE);
  for (const [key, value] of query || []) {
    if (value === undefined || value === null || value === "") continue;
    url.searchParams.append(key, String(value));
  }
  const init = { method, headers: { Accept: "application/json" }, signal, credentials: "same-origin" };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers["Content-Type"] = "application/json";
  }
  let response;
  try {
    response = await fetch(url, init);
  } catch (error) {
    if (error && error.name === "AbortError") throw error;
    throw new ApiError("The Companion server does not answer; is it still running?", { code: "unreachable" });
  }
  const text = await response.text();
  let data = null;
  try {
    data = text ? JSON.parse(text) : null;
  } catch {
    data = null;
  }
  if (!response.ok) {
    const message = data && typeof data.error === "string" ? data.error : `The server answered HTTP ${response.status}.`;
    throw new ApiError(message, { code: (data && data.code) || "http_error", status: response.status });
  }
  return data;
}

/** A Civitai image through our own media route (sized, cached; hosts with a CSP refuse remote images). */
export function mediaUrl(url, width) {
  if (!url) return "";
  const target = new URL("media", API_BASE);
  target.searchParams.set("url", url);
  if (width) target.searchParams.set("width", String(width));
  return target.href;
}

/** An API-relative URL (for <img src> of local previews and the like). */
export function apiUrl(path) {
  return new URL(path, API_BASE).href;
}
