/**
 * Pure fixtures for the planner and profile unit tests: entries as a server would return them, fake
 * observations, and a seeded random source for hand-written property tests.
 */
import assert from 'node:assert/strict';
import { normalizeDn } from '../../src/formats/dn.js';
import { PrepareError } from '../../src/model/errors.js';
import type { Entry } from '../../src/model/entries.js';
import type { Observation } from '../../src/model/plan.js';

/** An entry with its attribute names lower-cased, as the LDAP adapter returns them. */
export function entry(dn: string, attributes: Record<string, string[]> = {}): Entry {
  return { dn, attributes: new Map(Object.entries(attributes).map(([name, values]) => [name.toLowerCase(), values])) };
}

/** A fake Observation holding exactly `entries` (keyed by normalized DN) and the search results given. */
export function observation(
  entries: readonly Entry[],
  options: { rootDse?: Entry; found?: Record<string, Entry[]> } = {},
): Observation {
  const byDn = new Map(entries.map((e) => [normalizeDn(e.dn), e]));
  return {
    rootDse: options.rootDse ?? byDn.get(''),
    entry: (dn) => byDn.get(normalizeDn(dn)),
    found: (key) => options.found?.[key] ?? [],
  };
}

/** Runs `fn`, which must throw a PrepareError with result code `code`, and returns that error. */
export function rejects(fn: () => unknown, code: number): PrepareError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof PrepareError, `expected a PrepareError, got ${String(error)}`);
    assert.equal(error.resultCode, code);
    return error;
  }
  assert.fail('expected a PrepareError');
}

/** Mulberry32: a small seeded PRNG, so property tests are reproducible without a dependency. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
