// JSON written straight into a byte buffer, for the NDJSON event lines
// (ndjson.ts): the output of a scan is hundreds of thousands of lines, and
// building each as a string (a template of a dozen parts, a JSON.stringify
// of its body) and then encoding it as UTF-8 cost a quarter of the scan and
// much of its garbage. Here the parts go into the buffer as they are made:
// field names and closed-set values byte by byte, numbers as digits, and a
// string byte by byte while it is printable ASCII without a quote or
// backslash (nearly every name, address and sentence). Any other string is
// written as JSON.stringify writes it (RFC 8259 §7), in UTF-8, so the bytes
// are the same as JSON.stringify's in every case.
//
// Written here because no library writes JSON into a caller's buffer.

/** Called when `need` more bytes do not fit: make room (flush, or grow) and leave `pos` where writing goes on. */
export type MakeRoom = (out: JsonBytes, need: number) => void;

const QUOTE = 0x22;
const ZERO = 0x30;
const MINUS = 0x2d;
/** UTF-8 takes at most 3 bytes per UTF-16 code unit. */
const MAX_UTF8_PER_UNIT = 3;

export class JsonBytes {
  pos = 0;

  constructor(
    public buf: Buffer,
    private readonly makeRoom: MakeRoom,
  ) {}

  /** At least `n` bytes free at `pos`. */
  room(n: number): void {
    // Stryker disable next-line EqualityOperator: making room when the bytes would just fit only flushes or grows a little early
    if (this.pos + n > this.buf.length) this.makeRoom(this, n);
  }

  byte(b: number): void {
    this.room(1);
    this.buf[this.pos++] = b;
  }

  /** Text as it is, no quotes and no escaping: field names and closed-set values (any text is still valid UTF-8). */
  raw(s: string): void {
    this.room(s.length);
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      // Stryker disable next-line ConditionalExpression,EqualityOperator: the UTF-8 way writes ASCII the same bytes, and rewrites the whole text
      if (c > 0x7f) {
        this.pos = start;
        this.utf8(s);
        return;
      }
      buf[p++] = c;
    }
    this.pos = p;
  }

  /** A JSON string, or null. */
  str(s: string | null): void {
    if (s === null) {
      this.raw('null');
      return;
    }
    this.room(s.length + 2);
    const buf = this.buf;
    const start = this.pos;
    let p = start;
    buf[p++] = QUOTE;
    for (let i = 0; i < s.length; i++) {
      const c = s.charCodeAt(i);
      // Stryker disable next-line ConditionalExpression,EqualityOperator: `true` and `c >= 0x7e` only send more strings to JSON.stringify, which writes the same text; the other variants fail json-bytes.test.ts
      if (c <= 0x1f || c > 0x7e || c === QUOTE || c === 0x5c) {
        this.pos = start;
        this.utf8(JSON.stringify(s));
        return;
      }
      buf[p++] = c;
    }
    buf[p++] = QUOTE;
    this.pos = p;
  }

  /**
   * A JSON string from ASCII bytes src[off, off + len), written when none of
   * them needs escaping (as str() would write their text); false, with
   * nothing written, when one does.
   */
  asciiStr(src: Uint8Array, off: number, len: number): boolean {
    this.room(len + 2);
    const buf = this.buf;
    let p = this.pos;
    buf[p++] = QUOTE;
    for (let i = off; i < off + len; i++) {
      const c = src[i];
      if (c <= 0x1f || c > 0x7e || c === QUOTE || c === 0x5c) return false;
      buf[p++] = c;
    }
    buf[p++] = QUOTE;
    this.pos = p;
    return true;
  }

  /** Strings as a JSON array. */
  strs(list: readonly string[]): void {
    this.byte(0x5b);
    for (let i = 0; i < list.length; i++) {
      if (i > 0) this.byte(0x2c);
      this.str(list[i]);
    }
    this.byte(0x5d);
  }

  /** A number as JSON writes it (integers digit by digit), or null. */
  num(n: number | null): void {
    if (n === null) {
      this.raw('null');
      return;
    }
    if (!Number.isSafeInteger(n)) {
      this.raw(JSON.stringify(n));
      return;
    }
    this.room(17);
    const buf = this.buf;
    let v = n;
    if (v < 0) {
      buf[this.pos++] = MINUS;
      v = -v;
    }
    let d = 1;
    while (d * 10 <= v) d *= 10;
    for (; d >= 1; d /= 10) buf[this.pos++] = ZERO + (Math.floor(v / d) % 10);
  }

  /** Any JSON value, as JSON.stringify writes it: members whose value is undefined left out, in arrays null. */
  value(v: unknown): void {
    switch (typeof v) {
      case 'string':
        this.str(v);
        return;
      case 'number':
        this.num(v);
        return;
      case 'boolean':
        this.raw(v ? 'true' : 'false');
        return;
      case 'object':
        break;
      default:
        this.raw('null'); // undefined, a function or a symbol inside an array
        return;
    }
    if (v === null) {
      this.raw('null');
      return;
    }
    if (Array.isArray(v)) {
      this.byte(0x5b);
      for (let i = 0; i < v.length; i++) {
        if (i > 0) this.byte(0x2c);
        this.value(v[i]);
      }
      this.byte(0x5d);
      return;
    }
    const o = v as Record<string, unknown>;
    this.byte(0x7b);
    let first = true;
    // for…in walks the same keys in the same order as JSON.stringify for plain objects (own, enumerable,
    // integer keys first), without making an array of them.
    for (const k in o) {
      const m = o[k];
      if (m === undefined || typeof m === 'function' || typeof m === 'symbol') continue;
      if (!first) this.byte(0x2c);
      first = false;
      this.str(k);
      this.byte(0x3a);
      this.value(m);
    }
    this.byte(0x7d);
  }

  /** Text that may hold any character, as UTF-8. */
  private utf8(s: string): void {
    this.room(s.length * MAX_UTF8_PER_UNIT);
    this.pos += this.buf.write(s, this.pos, 'utf8');
  }
}

/** An encoder of its own that grows as needed, for a line wanted as a string (the evidence log, `egress tail`). */
const scratch = new JsonBytes(Buffer.allocUnsafeSlow(4096), (out, need) => {
  // Stryker disable next-line ArithmeticOperator: growing to just what is needed gives the same text, only more copies
  const bigger = Buffer.allocUnsafeSlow(Math.max(2 * out.buf.length, out.pos + need));
  out.buf.copy(bigger, 0, 0, out.pos);
  out.buf = bigger;
});

/** What `write` encodes, as a string. */
export function jsonText(write: (out: JsonBytes) => void): string {
  scratch.pos = 0;
  write(scratch);
  return scratch.buf.toString('utf8', 0, scratch.pos);
}
