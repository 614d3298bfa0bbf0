import fc from 'fast-check';
import { describe, expect, test } from 'vitest';
import { DateTime, isoString } from '../src/schema/date-time.js';

describe('the DateTime scalar', () => {
  test('writes every valid Date exactly as toISOString does, in any order of days', () => {
    fc.assert(
      fc.property(fc.array(fc.date({ noInvalidDate: true }), { minLength: 1, maxLength: 50 }), (dates) => {
        for (const date of dates) expect(isoString(date)).toBe(date.toISOString());
      }),
      { numRuns: 2_000 },
    );
  });

  test('the same day twice, a millisecond apart, and around midnight', () => {
    for (const iso of [
      '2026-12-07T23:59:59.999Z',
      '2026-12-07T00:00:00.000Z',
      '2026-12-07T00:00:00.001Z',
      '1969-12-31T23:59:59.999Z',
      '+275760-09-13T00:00:00.000Z',
      '-000001-01-01T00:00:00.000Z',
    ]) {
      const date = new Date(iso);
      expect(isoString(date)).toBe(iso);
      expect(isoString(new Date(date.getTime()))).toBe(iso);
    }
  });

  test('refuses what graphql-scalars refuses (an invalid Date), and serialises strings as before', () => {
    expect(() => DateTime.serialize(new Date(Number.NaN))).toThrow(/invalid Date/);
    expect(DateTime.serialize('2026-12-07T10:00:00Z')).toBe('2026-12-07T10:00:00.000Z');
  });
});
