/**
 * The event files read by readers that share nothing with the writer: protoc against a .proto
 * transcribed from TensorBoard's field numbers, and Python's protobuf and crc32c modules.
 * Without those tools the tests skip and say so in their names; CI installs them.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TensorBoardWriter } from '../src/tensorboard/index.ts';
import { named, protoc, protocDecode, python, pythonNumber, pythonRead } from './tfevents/independent.ts';
import { readRecords } from './tfevents/reader.ts';

const root = mkdtempSync(join(tmpdir(), 'chainrule-tb-independent-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

/** A file with every kind of event the writer makes, values chosen to be awkward. */
function sampleFile(dir: string): string {
  const w = new TensorBoardWriter(dir, { now: () => 1_750_000_000.5 });
  w.addSessionStart(1, 1_750_000_001);
  w.addScalars(
    [
      { tag: 'Reward', value: -1234.5678 },
      { tag: 'Qmax Value', value: 0.1 },
      { tag: 'zero', value: 0 },
    ],
    200,
    1_750_000_002.125,
  );
  w.addScalar('big step', 1e-30, 2 ** 40, 1_750_000_003);
  w.addScalar('diverged', Number.POSITIVE_INFINITY, 201, 1_750_000_004);
  w.close();
  return w.path;
}

describe('independent readers', () => {
  it.skipIf(!protoc.ok)(named('protoc --decode reads every record as a tensorboard.Event', protoc), () => {
    const path = sampleFile(join(root, 'protoc'));
    const texts = readRecords(readFileSync(path)).records.map(protocDecode);
    expect(texts).toHaveLength(5);
    expect(texts[0]).toBe('wall_time: 1750000000.5\nfile_version: "brain.Event:2"\n');
    expect(texts[1]).toBe('wall_time: 1750000001\nstep: 1\nsession_log {\n  status: START\n}\n');
    // protoc prints a float with the fewest digits that read back to the same float32.
    const values = [...texts[2]!.matchAll(/tag: "([^"]+)"\n\s+simple_value: (\S+)/g)].map((m) => [
      m[1],
      Math.fround(Number(m[2])),
    ]);
    expect(texts[2]).toMatch(/^wall_time: 1750000002\.125\nstep: 200\nsummary \{/);
    expect(values).toEqual([
      ['Reward', Math.fround(-1234.5678)],
      ['Qmax Value', Math.fround(0.1)],
      ['zero', 0],
    ]);
    expect(texts[3]).toMatch(/^wall_time: 1750000003\nstep: 1099511627776\n/);
    expect(texts[4]).toContain('simple_value: inf');
  });

  it.skipIf(!python.ok)(
    named('Python (protobuf + crc32c) checks both CRCs of every record and decodes the scalars', python),
    () => {
      const path = sampleFile(join(root, 'python'));
      const [file] = pythonRead([path]);
      expect(file!.torn_bytes).toBe(0);
      expect(
        file!.events.map((e) => ({
          ...e,
          scalars: e.scalars?.map((s) => ({ ...s, value: pythonNumber(s.value) })),
        })),
      ).toEqual([
        { wall_time: 1_750_000_000.5, step: 0, file_version: 'brain.Event:2', scalars: undefined },
        { wall_time: 1_750_000_001, step: 1, session_status: 'START', scalars: undefined },
        {
          wall_time: 1_750_000_002.125,
          step: 200,
          scalars: [
            { tag: 'Reward', value: Math.fround(-1234.5678) },
            { tag: 'Qmax Value', value: Math.fround(0.1) },
            { tag: 'zero', value: 0 },
          ],
        },
        {
          wall_time: 1_750_000_003,
          step: 2 ** 40,
          scalars: [{ tag: 'big step', value: Math.fround(1e-30) }],
        },
        {
          wall_time: 1_750_000_004,
          step: 201,
          scalars: [{ tag: 'diverged', value: Number.POSITIVE_INFINITY }],
        },
      ]);
    },
  );

  it.skipIf(!python.ok)(named('Python rejects a file whose data CRC is wrong', python), () => {
    const path = sampleFile(join(root, 'python-corrupt'));
    const bytes = readFileSync(path);
    // Flip a bit inside the third record's data (past two records and its own 12-byte header).
    const { records } = readRecords(bytes);
    const third = 16 + records[0]!.length + 16 + records[1]!.length + 12;
    bytes[third]! ^= 0x10;
    const corrupt = join(root, 'corrupt.tfevents');
    writeFileSync(corrupt, bytes);
    expect(() => pythonRead([corrupt])).toThrow(/the data's masked CRC-32C does not match/);
  });
});
