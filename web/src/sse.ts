/** Server-Sent Events, parsed as the bytes arrive: complete frames out, the unfinished rest kept. */
export interface SseFrame {
  /** `message` unless the frame named another (the server's mid-stream failures are `error`). */
  readonly event: string;
  readonly data: string;
}

export class SseParser {
  private buffer = '';

  /** `end`: no more text comes, so a trailing CR is a line end rather than half of a CRLF. */
  push(text: string, end = false): SseFrame[] {
    this.buffer += text;
    // A CR at the very end may be the first half of a CRLF split across reads: normalise it once it is whole.
    const whole = end || !this.buffer.endsWith('\r') ? this.buffer.length : this.buffer.length - 1;
    this.buffer = this.buffer.slice(0, whole).replace(/\r\n?/g, '\n') + this.buffer.slice(whole);
    const frames: SseFrame[] = [];
    for (let end = this.buffer.indexOf('\n\n'); end >= 0; end = this.buffer.indexOf('\n\n')) {
      const block = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + 2);
      let event = 'message';
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') event = value;
        else if (field === 'data') data.push(value);
      }
      if (data.length > 0) frames.push({ event, data: data.join('\n') });
    }
    return frames;
  }
}
