#!/usr/bin/env node
// Entry point of the `egress` binary.

import './heap.js';
import { ExitCode } from '../errors.js';
import { main } from './main.js';

main(process.argv.slice(2), { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr }).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`egress: internal error: ${(err as Error).stack ?? String(err)}\n`);
    process.exitCode = ExitCode.FAILURE;
  },
);
