import { VetbenchError } from '../../engine/errors.js';

/** The VetbenchError `fn` throws; any other error is rethrown, and no error at all fails the test. */
export function vetbenchErrorOf(fn: () => unknown): VetbenchError {
  try {
    fn();
  } catch (e) {
    if (e instanceof VetbenchError) return e;
    throw e;
  }
  throw new Error('expected a VetbenchError');
}
