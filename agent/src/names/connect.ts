// HTTP CONNECT tunnels (RFC 9110 §9.3.6): once the proxy answers a CONNECT
// with any 2xx status, the connection carries the client's own protocol,
// usually TLS. The names stage then reads the client's bytes after the
// CONNECT request head again, for a ClientHello whose SNI names the real
// server (the CONNECT target names only what the client asked the proxy for).

export const ConnectState = {
  NONE: 0,
  /** The CONNECT request was read; waiting for the proxy's status line. */
  AWAIT_REPLY: 1,
  /** A 2xx came: the client's next bytes are probed for a TLS ClientHello. */
  TUNNEL: 2,
} as const;

const STATUS_PREFIX = 'HTTP/1.';
const SP = 0x20;
const DIGIT_2 = 0x32;

/** Does this server payload start with an HTTP/1.x status line of class 2xx ("HTTP/1.1 200 …")? */
export function isConnectSuccess(buf: Uint8Array, off: number, len: number): boolean {
  // "HTTP/1.x" SP 3DIGIT: 12 bytes
  if (len < 12) return false;
  for (let i = 0; i < STATUS_PREFIX.length; i++) if (buf[off + i] !== STATUS_PREFIX.charCodeAt(i)) return false;
  return buf[off + 8] === SP && buf[off + 9] === DIGIT_2 && isDigit(buf[off + 10]) && isDigit(buf[off + 11]);
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}
