// Talking to the server: JSON POSTs with the API key, typed errors, and server-sent events read
// from a POST response (EventSource can only GET, so the body is read as a stream).

export const STATUS_MESSAGES = {
  401: "API 키가 필요하거나 틀렸습니다. 아래 ‘API 키’에 입력하세요.",
  413: "텍스트가 너무 깁니다.",
  422: "말할 수 있는 내용이 없거나 입력이 올바르지 않습니다.",
  500: "서버에서 합성에 실패했습니다.",
  503: "서버가 바쁩니다. 잠시 후 다시 시도하세요.",
  504: "시간 안에 합성을 끝내지 못했습니다.",
};

export class ApiError extends Error {
  // status 0: no answer at all (the message is then the whole story).
  constructor(status, detail, retryAfter) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }
}

export function detailText(detail) {
  // FastAPI validation errors are a list of {loc, msg}; our own errors are a string.
  if (Array.isArray(detail)) {
    return detail.map((item) => `${(item.loc || []).slice(1).join(".")}: ${item.msg}`).join("\n");
  }
  return typeof detail === "string" ? detail : JSON.stringify(detail);
}

export async function post(path, body, apiKey) {
  // The response once its status is OK; any other status throws an ApiError with the server's detail.
  const headers = { "Content-Type": "application/json" };
  if (apiKey) headers.Authorization = `Bearer ${apiKey}`;
  let response;
  try {
    response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, "서버에 연결할 수 없습니다.", null);
  }
  if (!response.ok) {
    let detail = response.statusText;
    try {
      detail = detailText((await response.json()).detail);
    } catch (error) {
      // not JSON: keep the status text
    }
    throw new ApiError(response.status, detail, response.headers.get("Retry-After"));
  }
  return response;
}

function parseEvent(block) {
  // One event block ("event: name" and "data: ..." lines) as {event, data}; null for a comment only.
  let event = "message";
  const data = [];
  for (const line of block.split("\n")) {
    const colon = line.indexOf(":");
    if (colon === 0) continue; // a comment (keep-alive)
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
  }
  return data.length ? { event, data: JSON.parse(data.join("\n")) } : null;
}

export async function* serverSentEvents(response, onComment = null) {
  // Yields {event, data, receivedAt} in order; receivedAt is performance.now() when the bytes that
  // completed the event were read, so callers can tell when each event reached the page.
  // onComment(text), when given, hears each comment-only block (": keep-alive").
  // A caller that stops early (an error event, a broken event) cancels the body, which closes the
  // connection: the server then drops the sentences it has not synthesised yet.
  const reader = response.body.getReader();
  const decoder = new TextDecoder();
  let buffered = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      const receivedAt = performance.now();
      buffered += done ? decoder.decode() : decoder.decode(value, { stream: true });
      buffered = buffered.replace(/\r\n/g, "\n");
      let end;
      while ((end = buffered.indexOf("\n\n")) >= 0) {
        const block = buffered.slice(0, end);
        const parsed = parseEvent(block);
        buffered = buffered.slice(end + 2);
        if (parsed) yield { ...parsed, receivedAt };
        else if (onComment && block.startsWith(":")) onComment(block.slice(1).trim());
      }
      if (done) return;
    }
  } finally {
    reader.cancel().catch(() => {
      // already closed
    });
  }
}
