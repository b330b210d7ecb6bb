// Argument parsing for every command, on node:util parseArgs, so usage
// errors are one EgressError with code EGRESS_USAGE (exit 2).

import { type ParseArgsConfig, parseArgs } from 'node:util';
import { EgressError, ErrorCode } from '../errors.js';

export type Options = NonNullable<ParseArgsConfig['options']>;

export function parseCommand(argv: string[], options: Options, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new EgressError(ErrorCode.USAGE, `${(err as Error).message}\n${usage}`);
  }
}

export function positiveInt(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1)
    throw new EgressError(ErrorCode.USAGE, `--${name} must be a positive integer, got "${value}"`);
  return n;
}
