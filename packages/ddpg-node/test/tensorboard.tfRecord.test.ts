import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { crc32c, encodeEvent, maskCrc, TF_RECORD_OVERHEAD, tfRecord } from '../src/tensorboard/index.ts';
import { decodeEvent, readRecords, referenceCrc32c, referenceMask } from './tfevents/reader.ts';

const ascii = (s: string) => new TextEncoder().encode(s);

describe('CRC-32C and its mask', () => {
  it('CRC-32C("123456789") is the check value 0xE3069283', () => {
    expect(crc32c(ascii('123456789'))).toBe(0xe3069283);
    expect(referenceCrc32c(ascii('123456789'))).toBe(0xe3069283);
  });

  it('the masked CRCs equal those Python computed with the crc32c module', () => {
    // python3: crc = crc32c.crc32c(data); (((crc >> 15) | (crc << 17)) + 0xa282ead8) & 0xffffffff
    expect(maskCrc(crc32c(ascii('123456789')))).toBe(0xc78ab0e5);
    expect(maskCrc(crc32c(new Uint8Array(8)))).toBe(0x07980329);
  });

  it('CRC-32C equals a bitwise reference on any bytes', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => {
        expect(crc32c(bytes)).toBe(referenceCrc32c(bytes));
      }),
    );
  });

  it('the mask equals the reference mask and is unsigned for any 32-bit CRC', () => {
    fc.assert(
      fc.property(fc.nat({ max: 0xffffffff }), (crc) => {
        const m = maskCrc(crc);
        expect(m).toBe(referenceMask(crc));
        expect(m >= 0 && m <= 0xffffffff).toBe(true);
      }),
    );
  });
});

describe('TFRecord framing', () => {
  it('a record is the little-endian length, its masked CRC, the data and the data’s masked CRC', () => {
    const data = ascii('123456789');
    const r = tfRecord(data);
    expect(r.length).toBe(TF_RECORD_OVERHEAD + 9);
    const view = new DataView(r.buffer);
    expect(view.getBigUint64(0, true)).toBe(9n);
    expect(view.getUint32(8, true)).toBe(referenceMask(referenceCrc32c(r.subarray(0, 8))));
    expect([...r.subarray(12, 21)]).toEqual([...data]);
    expect(view.getUint32(21, true)).toBe(0xc78ab0e5);
  });

  it('any sequence of records reads back as the same data; a cut leaves whole records and a torn tail', () => {
    fc.assert(
      fc.property(
        fc.array(fc.uint8Array({ maxLength: 200 }), { maxLength: 8 }),
        fc.nat(),
        (datas, cutSeed) => {
          const file = Buffer.concat(datas.map(tfRecord));
          expect(readRecords(file).records.map((r) => [...r])).toEqual(datas.map((d) => [...d]));
          expect(readRecords(file).tornBytes).toBe(0);
          const cut = file.length === 0 ? 0 : cutSeed % file.length;
          const { records, tornBytes } = readRecords(file.subarray(0, cut));
          const whole = records.reduce((n, r) => n + TF_RECORD_OVERHEAD + r.length, 0);
          expect(whole + tornBytes).toBe(cut);
          expect(records.map((r) => [...r])).toEqual(datas.slice(0, records.length).map((d) => [...d]));
        },
      ),
    );
  });

  it('any flipped bit in a record is caught by one of the two CRCs', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.nat(), (data, bitSeed) => {
        const r = tfRecord(data);
        const bit = bitSeed % (r.length * 8);
        r[bit >> 3]! ^= 1 << (bit & 7);
        // A flip in the length can also make the record look torn instead of corrupt.
        let caught = false;
        try {
          caught = readRecords(r).records.length === 0;
        } catch {
          caught = true;
        }
        expect(caught).toBe(true);
      }),
    );
  });
});

describe('Event encoding', () => {
  it('any scalars, step and wall time decode back, values rounded to float32', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0, max: 4e9, noNaN: true }),
        fc.maxSafeInteger(),
        fc.array(fc.record({ tag: fc.string({ minLength: 1 }), value: fc.double() }), { maxLength: 5 }),
        (wallTime, step, scalars) => {
          const e = decodeEvent(encodeEvent(wallTime, step, { kind: 'scalars', scalars }));
          expect(e.wallTime).toBe(wallTime);
          expect(e.step).toBe(step);
          expect(e.scalars).toEqual(scalars.map(({ tag, value }) => ({ tag, value: Math.fround(value) })));
        },
      ),
    );
  });

  it('a zero scalar is still written (simple_value is a oneof), and 1e39 becomes Infinity', () => {
    const e = decodeEvent(
      encodeEvent(1, 3, {
        kind: 'scalars',
        scalars: [
          { tag: 'zero', value: 0 },
          { tag: 'big', value: 1e39 },
          { tag: 'nan', value: Number.NaN },
        ],
      }),
    );
    expect(e.scalars).toEqual([
      { tag: 'zero', value: 0 },
      { tag: 'big', value: Number.POSITIVE_INFINITY },
      { tag: 'nan', value: Number.NaN },
    ]);
  });

  it('the file version and a session START decode back', () => {
    expect(decodeEvent(encodeEvent(5.5, 0, { kind: 'fileVersion', fileVersion: 'brain.Event:2' }))).toEqual({
      wallTime: 5.5,
      step: 0,
      fileVersion: 'brain.Event:2',
    });
    expect(decodeEvent(encodeEvent(5.5, 41, { kind: 'sessionLog', status: 'START' }))).toEqual({
      wallTime: 5.5,
      step: 41,
      sessionStatus: 1,
    });
  });
});
