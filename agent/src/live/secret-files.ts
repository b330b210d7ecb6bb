// Who may read the agent's secrets: the data directory 0700 and secrets.json
// 0600, enforced on every start (not only when they are first made), and
// refused when another user owns them (the agent would otherwise trust
// a file someone else can change). And how strong a dashboard token set by
// the operator must be (the generated ones are 144 random bits).

import { chmodSync, readFileSync, statSync } from 'node:fs';
import { EgressError, ErrorCode } from '../errors.js';

export const DATA_DIR_MODE = 0o700;
export const SECRET_FILE_MODE = 0o600;
/** Shortest dashboard token accepted from EGRESS_DASHBOARD_TOKEN or a token file. */
export const MIN_TOKEN_CHARS = 16;
/** Least estimated strength: length × log2(size of the character classes used). */
export const MIN_TOKEN_BITS = 80;
/** Fewest different characters (a long run of one letter is not a secret). */
export const MIN_TOKEN_DISTINCT = 8;

/**
 * Make `path` private to this user: `mode` when it is looser (returns true
 * when it was changed); EGRESS_DATA_DIR_INSECURE when another user owns it.
 */
export function enforceMode(path: string, mode: number, what: string): boolean {
  const st = statSync(path);
  const uid = process.getuid?.();
  if (uid !== undefined && st.uid !== uid)
    throw new EgressError(
      ErrorCode.DATA_DIR_INSECURE,
      `${what} ${path} belongs to user ${st.uid}, not to the agent's user ${uid}: give it to the agent's user (chown) or choose another --data-dir`,
      { file: path },
    );
  if ((st.mode & 0o777) === mode) return false;
  try {
    chmodSync(path, mode);
  } catch (err) {
    throw new EgressError(
      ErrorCode.DATA_DIR_INSECURE,
      `cannot make ${what} ${path} mode ${mode.toString(8)}: ${(err as Error).message}`,
      { file: path },
    );
  }
  return true;
}

/** Estimated strength of a token in bits, by the character classes it uses. */
export function tokenBits(token: string): number {
  let pool = 0;
  if (/[a-z]/.test(token)) pool += 26;
  if (/[A-Z]/.test(token)) pool += 26;
  if (/[0-9]/.test(token)) pool += 10;
  if (/[^a-zA-Z0-9]/.test(token)) pool += 33;
  return pool === 0 ? 0 : token.length * Math.log2(pool);
}

/** The token, checked: EGRESS_TOKEN_WEAK when it is short, uses few characters or is guessable. */
export function checkTokenStrength(token: string, from: string): string {
  const distinct = new Set(token).size;
  const bits = tokenBits(token);
  if (token.length < MIN_TOKEN_CHARS || distinct < MIN_TOKEN_DISTINCT || bits < MIN_TOKEN_BITS)
    throw new EgressError(
      ErrorCode.TOKEN_WEAK,
      `the dashboard token from ${from} is too weak (${token.length} characters, ${distinct} different, about ` +
        `${Math.floor(bits)} bits): use at least ${MIN_TOKEN_CHARS} characters, ${MIN_TOKEN_DISTINCT} different, ` +
        `${MIN_TOKEN_BITS} bits, e.g. \`openssl rand -base64 24\`, or unset it to use the generated one`,
    );
  return token;
}

/** A token kept in a file (`--token-file`): its first line, trimmed. */
export function readTokenFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    throw new EgressError(ErrorCode.USAGE, `cannot read the token file ${file}: ${e.code ?? e.message}`, { file });
  }
  const token = text.split('\n')[0].trim();
  if (token === '') throw new EgressError(ErrorCode.USAGE, `the token file ${file} is empty`, { file });
  return token;
}
