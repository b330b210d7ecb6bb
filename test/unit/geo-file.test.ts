// A missing or damaged geo/ASN database file (agent/data/geo.bin) stops
// loading with EGRESS_GEO_DB_INVALID, naming the file and what is wrong:
// absent, short, not the format, another version, a broken header, a changed
// byte, ranges out of order.

import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_GEO_PATH, GeoDb } from '../../agent/src/enrich/geo.js';
import { EgressError, ErrorCode, exitCodeFor } from '../../agent/src/errors.js';
import { buildGeoDb } from '../support/geo-csv.js';

beforeAll(() => {
  buildGeoDb(); // the good file the cases below damage
});

describe('a missing or damaged geo.bin', () => {
  const good = () => readFileSync(DEFAULT_GEO_PATH);
  const dir = mkdtempSync(join(tmpdir(), 'egress-geo-'));

  function expectInvalid(bytes: Uint8Array | null, message: RegExp) {
    const path = join(dir, 'geo.bin');
    if (bytes !== null) writeFileSync(path, bytes);
    const err = (() => {
      try {
        GeoDb.load(bytes === null ? join(dir, 'absent.bin') : path);
      } catch (e) {
        return e;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(EgressError);
    const e = err as EgressError;
    expect(e.code).toBe(ErrorCode.GEO_DB_INVALID);
    expect(e.message).toMatch(message);
    expect(e.toLine()).toMatch(/^EGRESS_GEO_DB_INVALID .*of .*\.bin: /);
    expect(exitCodeFor(e)).toBe(1);
  }

  /** The header JSON, and a way to write a changed one back at the same length. */
  function header(bytes: Buffer) {
    const length = bytes.readUInt32LE(12);
    const json = JSON.parse(bytes.subarray(16, 16 + length).toString('utf8'));
    const put = (h: unknown) => {
      const text = JSON.stringify(h).padEnd(length, ' ');
      expect(text.length).toBe(length);
      bytes.write(text, 16, 'utf8');
    };
    return { json, put, bodyStart: 16 + length };
  }

  it('missing', () => expectInvalid(null, /cannot read the geo database \(ENOENT\)/));
  it('empty', () => expectInvalid(new Uint8Array(0), /too short \(0 bytes\)/));
  it('shorter than its prefix', () => expectInvalid(good().subarray(0, 10), /too short/));
  it('not a geo database', () => expectInvalid(Buffer.from('PK\x03\x04 this is a zip file, not geo.bin'), /bad magic/));
  it('cut inside the header', () => expectInvalid(good().subarray(0, 100), /header cut short/));
  it('cut inside the tables', () => {
    const b = good();
    expectInvalid(b.subarray(0, b.length >> 1), /cut short in section/);
  });
  it('one byte changed in the tables', () => {
    const b = good();
    b[b.length - 1000] ^= 0x40;
    expectInvalid(b, /SHA-256 mismatch/);
  });
  it('another format version', () => {
    const b = good();
    b.writeUInt32LE(2, 8);
    expectInvalid(b, /format 2, this agent reads format 1/);
  });
  it('a header that is not JSON', () => {
    const b = good();
    b.write('{{{{', 16, 'latin1');
    expectInvalid(b, /header is not valid JSON/);
  });
  it('well formed and checksummed, but with ranges out of order', () => {
    const b = good();
    const h = header(b);
    const v4Starts = h.json.sections.find((s: { name: string }) => s.name === 'v4Starts');
    b.writeUInt32LE(0xffffffff, h.bodyStart + v4Starts.offset + 4 * 1000);
    const body = b.subarray(h.bodyStart);
    h.put({ ...h.json, sha256: createHash('sha256').update(body).digest('hex') });
    expectInvalid(b, /IPv4 range \d+ out of order/);
  });
});
