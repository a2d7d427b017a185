// sse — Server-Sent Events read with fetch() streaming.
//
// EventSource cannot send the API key's header, so the app reads every
// stream (GET /jobs/<id>/events, GET /jobs/events) with fetch() and parses
// the text/event-stream body itself: one code path with or without a key,
// and a refusal (401, 404, 503 too_many_streams) arrives as JSON like any
// other answer. The parser follows the WHATWG event-stream format (fields
// event, data, id; comments; CR, LF or CRLF line ends).

import { errorOf, send } from './api.js';

/** A parser: feed(text) returns the events completed by that text, each
 * { type, data, id }. */
export function createParser() {
  let buffer = '';
  let type = '';
  let data = [];
  let id = '';
  let skipLf = false; // a chunk ended on CR: a following LF is that CR's
  return {
    feed(text) {
      if (skipLf && text.startsWith('\n'))
        text = text.slice(1);
      skipLf = false;
      buffer += text;
      const events = [];
      for (;;) {
        const m = /\r\n|\r|\n/.exec(buffer);
        if (!m)
          break;
        if (m[0] === '\r' && m.index === buffer.length - 1)
          skipLf = true;
        const line = buffer.slice(0, m.index);
        buffer = buffer.slice(m.index + m[0].length);
        if (line === '') {
          if (data.length)
            events.push({ type: type || 'message', data: data.join('\n'), id });
          type = '';
          data = [];
          continue;
        }
        if (line.startsWith(':'))
          continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        let value = colon < 0 ? '' : line.slice(colon + 1);
        if (value.startsWith(' '))
          value = value.slice(1);
        if (field === 'event')
          type = value;
        else if (field === 'data')
          data.push(value);
        else if (field === 'id')
          id = value;
      }
      return events;
    },
  };
}

/** Reads one stream until it ends (resolves) or signal aborts (rejects with
 * AbortError); onEvent(type, parsedData) for each event whose data is JSON.
 * A refusal rejects with ApiError. */
export async function readStream(path, { signal, onEvent, onOpen }) {
  const res = await send('GET', path, { signal, headers: { Accept: 'text/event-stream' } });
  if (!res.ok)
    throw await errorOf(res);
  if (!res.body)
    throw new Error('this browser cannot read a response as a stream');
  onOpen?.();
  const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
  const parser = createParser();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done)
        return;
      for (const ev of parser.feed(value)) {
        let data;
        try {
          data = JSON.parse(ev.data);
        } catch {
          continue; // not ours
        }
        onEvent(ev.type, data);
      }
    }
  } finally {
    reader.releaseLock();
  }
}
