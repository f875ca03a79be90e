// Shared check of the bad-input tests: a call throws the expected error
// type and message, and then a valid call still returns correct results.
import { expect } from '@jest/globals';

/**
 * Expects fn() to throw an instance of `type` whose message matches
 * `pattern`, then runs stillWorks(), which makes and checks a valid call.
 */
export function expectErrorThenWorks(fn, type, pattern, stillWorks) {
  let caught;
  try {
    fn();
  } catch (error) {
    caught = error;
  }
  expect(caught).toBeInstanceOf(type);
  expect(caught.message).toMatch(pattern);
  stillWorks();
}
