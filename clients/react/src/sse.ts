// A server-sent events reader over `fetch`: unlike EventSource it can send the
// Authorization / x-user-id header and Last-Event-ID, so no token goes into a URL.

export interface SseMessage {
  event: string;
  data: string;
  id: string | null;
}

const LINE_END = /\r\n|\r|\n/;

/** Reads `body` until it ends, calling `onMessage` per event (comments are skipped);
 * `onMessage` returning false stops the reading there. */
export async function readEvents(
  body: ReadableStream<Uint8Array>,
  onMessage: (message: SseMessage) => boolean | void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = "";
  let event = "";
  let data: string[] = [];
  let id: string | null = null;
  let going = true;
  const line = (text: string): void => {
    if (text === "") {
      if (data.length) going = onMessage({ event: event || "message", data: data.join("\n"), id }) !== false;
      event = "";
      data = [];
      id = null;
      return;
    }
    if (text.startsWith(":")) return;
    const colon = text.indexOf(":");
    const field = colon < 0 ? text : text.slice(0, colon);
    const value = colon < 0 ? "" : text.slice(colon + 1).replace(/^ /, "");
    if (field === "event") event = value;
    else if (field === "data") data.push(value);
    else if (field === "id") id = value;
  };
  try {
    while (going) {
      const { done, value } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      for (let match = LINE_END.exec(buffer); match && going; match = LINE_END.exec(buffer)) {
        // A "\r" at the end may be the first half of "\r\n": wait for the next chunk.
        if (match[0] === "\r" && match.index === buffer.length - 1) break;
        line(buffer.slice(0, match.index));
        buffer = buffer.slice(match.index + match[0].length);
      }
    }
    void reader.cancel().catch(() => undefined); // stopped by onMessage: close the stream
  } finally {
    reader.releaseLock();
  }
}
