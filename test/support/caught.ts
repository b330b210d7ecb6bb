// The EgressError a call throws (its code, message and facts are what tests check).

import type { EgressError } from '../../agent/src/errors.js';

export function caught(f: () => unknown): EgressError {
  try {
    f();
  } catch (err) {
    return err as EgressError;
  }
  throw new Error('no error');
}
