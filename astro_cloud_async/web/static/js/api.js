// Talking to the server: every request carries the token the page was opened with.
// Errors come back as {error: {type, message, url, offset}} and are thrown as ApiError.

const params = new URLSearchParams(location.search);
export const token = params.get("token") || sessionStorage.getItem("aca-token") || "";
if (token) sessionStorage.setItem("aca-token", token);

export class ApiError extends Error {
  constructor(info, status) {
    super(info.message || "request failed");
    this.type = info.type || "Error";
    this.url = info.url || null;
    this.offset = info.offset ?? null;
    this.status = status;
  }
  describe() {
    let text = `${this.type}: ${this.message}`;
    const where = [];
    if (this.url) where.push(this.url);
    if (this.offset !== null && this.offset !== undefined) where.push(`at byte ${this.offset.toLocaleString("en-US")}`);
    if (where.length) text += ` (${where.join(", ")})`;
    return text;
  }
}

export async function api(path, { method = "GET", json, body, signal } = {}) {
  const headers = { "X-Token": token };
  if (json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(json);
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/octet-stream";
  }
  let response;
  try {
    response = await fetch(path, { method, headers, body, signal });
  } catch (err) {
    if (err.name === "AbortError") throw err;
    throw new ApiError({ type: "ConnectionError", message: "the server cannot be reached: is `serve` still running?" }, 0);
  }
  let data = null;
  const type = response.headers.get("Content-Type") || "";
  if (type.includes("json")) data = await response.json();
  if (!response.ok) {
    throw new ApiError((data && data.error) || { type: "HTTPError", message: response.statusText }, response.status);
  }
  return data;
}

/** A URL for things that cannot send a header: images, downloads, event streams. */
export function withToken(path) {
  const sep = path.includes("?") ? "&" : "?";
  return `${path}${sep}token=${encodeURIComponent(token)}`;
}
