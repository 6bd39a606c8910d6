/**
 * JSON.parse with a one-line error: V8's message quotes the text around the mistake, which in a model file
 * (tekken.json, params.json) often spans line breaks, and it gives no position for an unexpected token. On
 * failure we scan the text again to say where (line, column) and what is wrong.
 */
export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    readonly line: number,
    readonly column: number,
  ) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

export function parseJsonText(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (err) {
    const found = locateJsonError(text);
    if (!found) throw new JsonSyntaxError(firstSentence((err as Error).message), 0, 0);
    const { line, column } = lineAndColumn(text, found.at);
    throw new JsonSyntaxError(`line ${line}, column ${column}: ${found.problem}`, line, column);
  }
}

/** V8's first clause, without the quoted text (the only part that may hold line breaks). */
function firstSentence(message: string): string {
  return message.split(/, "|, \.\.\."|\n/)[0]!;
}

function lineAndColumn(text: string, at: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = text.indexOf('\n'); i >= 0 && i < at; i = text.indexOf('\n', i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: at - lineStart + 1 };
}

class Stop {
  constructor(
    readonly at: number,
    readonly problem: string,
  ) {}
}

// Deeper input is legal JSON but is not what a model file holds; past this we give V8's own message.
const MAX_DEPTH = 1000;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?/y;
const ESCAPE = /["\\/bfnrt]|u[0-9a-fA-F]{4}/y;

/** The first place where `text` stops being JSON (RFC 8259, as JSON.parse reads it), or null. */
export function locateJsonError(text: string): { at: number; problem: string } | null {
  let at = 0;
  const stop = (problem: string, where = at): never => {
    throw new Stop(where, problem);
  };
  const unexpected = (): never =>
    stop(at >= text.length ? 'unexpected end of file' : `unexpected ${describe(text[at]!)}`);
  const ws = () => {
    while (at < text.length && ' \t\n\r'.includes(text[at]!)) at++;
  };
  const string = () => {
    const start = at++;
    for (;;) {
      if (at >= text.length) stop('unterminated string', start);
      const c = text.charCodeAt(at);
      if (c === 0x22) return void at++;
      if (c < 0x20) stop(`${describe(text[at]!)} inside a string (write it as an escape)`);
      if (c === 0x5c) {
        ESCAPE.lastIndex = at + 1;
        if (!ESCAPE.test(text)) stop('invalid escape in a string');
        at = ESCAPE.lastIndex;
      } else at++;
    }
  };
  const value = (depth: number): void => {
    if (depth > MAX_DEPTH) throw new Stop(-1, '');
    const c = text[at];
    if (c === '{') {
      at++;
      ws();
      if (text[at] === '}') return void at++;
      for (;;) {
        if (text[at] !== '"') stop('expected a property name in double quotes');
        string();
        ws();
        if (text[at] !== ':') stop("expected ':' after a property name");
        at++;
        ws();
        value(depth + 1);
        ws();
        if (text[at] === '}') return void at++;
        if (text[at] !== ',') stop("expected ',' or '}' after a property value");
        at++;
        ws();
      }
    }
    if (c === '[') {
      at++;
      ws();
      if (text[at] === ']') return void at++;
      for (;;) {
        value(depth + 1);
        ws();
        if (text[at] === ']') return void at++;
        if (text[at] !== ',') stop("expected ',' or ']' after an array element");
        at++;
        ws();
      }
    }
    if (c === '"') return string();
    for (const literal of ['true', 'false', 'null'])
      if (text.startsWith(literal, at)) return void (at += literal.length);
    NUMBER.lastIndex = at;
    if (NUMBER.test(text)) return void (at = NUMBER.lastIndex);
    unexpected();
  };
  try {
    ws();
    value(0);
    ws();
    if (at < text.length) stop(`unexpected ${describe(text[at]!)} after the JSON value`);
    return null;
  } catch (err) {
    if (!(err instanceof Stop)) throw err;
    return err.at < 0 ? null : { at: err.at, problem: err.problem };
  }
}

function describe(c: string): string {
  if (c === '\n' || c === '\r') return 'line break';
  if (c === '\t') return 'tab';
  if (c === '\ufeff') return 'byte-order mark';
  const code = c.charCodeAt(0);
  return code < 0x20 || code === 0x7f
    ? `control character U+${code.toString(16).padStart(4, '0')}`
    : `'${c}'`;
}
