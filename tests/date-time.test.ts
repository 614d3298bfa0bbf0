import fc from 'fast-check';
import { DateTimeISOResolver } from 'graphql-scalars';
import { describe, expect, test } from 'vitest';
import { DateTime, isoString } from '../src/schema/date-time.js';

/** What graphql-scalars' own serialize answers: its string, or its error's message. */
function scalarsAnswer(value: unknown): unknown {
  try {
    return DateTimeISOResolver.serialize(value);
  } catch (error) {
    return { error: (error as Error).message };
  }
}

function ourAnswer(value: unknown): unknown {
  try {
    return DateTime.serialize(value);
  } catch (error) {
    return { error: (error as Error).message };
  }
}

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

  test('passes toISOString text (the lists read their timestamps so) through unchanged, as graphql-scalars would answer it', () => {
    const fourDigitYears = fc.date({
      min: new Date('0000-01-01T00:00:00.000Z'),
      max: new Date('9999-12-31T23:59:59.999Z'),
      noInvalidDate: true,
    });
    fc.assert(
      fc.property(fourDigitYears, (date) => {
        const iso = date.toISOString();
        expect(DateTime.serialize(iso)).toBe(iso);
        expect(DateTimeISOResolver.serialize(iso)).toBe(iso);
      }),
      { numRuns: 2_000 },
    );
  });

  test('text of any other shape goes to graphql-scalars, which formats or refuses it as before', () => {
    const iso = '2026-12-07T10:11:12.345Z';
    const others = [
      '2026-12-07T10:11:12Z',
      '2026-12-07T10:11:12.3Z',
      '2026-12-07T10:11:12.3456Z',
      '2026-12-07T10:11:12.345+01:00',
      '2026-12-07 10:11:12.345Z',
      '2026-12-07t10:11:12.345z',
      '+010000-01-01T00:00:00.000Z',
      '-000001-01-01T00:00:00.000Z',
      ` ${iso}`,
      `${iso} `,
      'not a date',
      '',
      // Every place of the shape changed in turn: a digit where a separator goes, a letter where a digit does.
      ...Array.from(iso, (c, at) => `${iso.slice(0, at)}${/\d/.test(c) ? 'x' : '0'}${iso.slice(at + 1)}`),
    ];
    for (const text of others) expect(ourAnswer(text), text).toEqual(scalarsAnswer(text));
    expect(DateTime.serialize('2026-12-07T10:00:00.000+02:00')).toBe('2026-12-07T08:00:00.000Z');
    expect(() => DateTime.serialize('2026-12-07T10:11:12.345')).toThrow();
  });
});
