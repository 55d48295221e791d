import { appendFileSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { eventFiles, TensorBoardWriter } from '../src/tensorboard/index.ts';
import { readEventFile, scalarsOfRun } from './tfevents/reader.ts';

const root = mkdtempSync(join(tmpdir(), 'chainrule-tb-writer-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let dirs = 0;
const freshDir = () => join(root, `run-${dirs++}`);

describe('TensorBoardWriter', () => {
  it('names its file as TensorFlow does and starts it with the file version', () => {
    const dir = freshDir();
    const w = new TensorBoardWriter(dir, { now: () => 1_733_000_000.25, hostname: 'box' });
    expect(readdirSync(dir)).toEqual([basename(w.path)]);
    expect(basename(w.path)).toMatch(
      new RegExp(`^events\\.out\\.tfevents\\.1733000000\\.box\\.${process.pid}\\.\\d+$`),
    );
    // The file version is on disk before anything else is written.
    expect(readEventFile(w.path).events).toEqual([
      { wallTime: 1_733_000_000.25, step: 0, fileVersion: 'brain.Event:2' },
    ]);
    w.close();
  });

  it('round trip: scalars and a session start read back in order, values as float32', () => {
    const dir = freshDir();
    const w = new TensorBoardWriter(dir);
    w.addSessionStart(1, 10);
    w.addScalar('Reward', -123.456, 200, 11);
    w.addScalars(
      [
        { tag: 'Qmax Value', value: 2.71 },
        { tag: 'Loss/Critic', value: 0 },
      ],
      200,
      12,
    );
    // Nothing but the file version is on disk before a flush.
    expect(readEventFile(w.path).events).toHaveLength(1);
    w.flush();
    w.addScalar('Reward', -99, 400, 13);
    w.close();
    const { events, tornBytes } = readEventFile(w.path);
    expect(tornBytes).toBe(0);
    expect(events.slice(1)).toEqual([
      { wallTime: 10, step: 1, sessionStatus: 1 },
      { wallTime: 11, step: 200, scalars: [{ tag: 'Reward', value: Math.fround(-123.456) }] },
      {
        wallTime: 12,
        step: 200,
        scalars: [
          { tag: 'Qmax Value', value: Math.fround(2.71) },
          { tag: 'Loss/Critic', value: 0 },
        ],
      },
      { wallTime: 13, step: 400, scalars: [{ tag: 'Reward', value: -99 }] },
    ]);
  });

  it('a second writer in the same second and directory gets a name that sorts after the first', () => {
    const dir = freshDir();
    const now = () => 1_700_000_000;
    const names: string[] = [];
    // Twelve writers: the counter passes 9 → 10, where plain name order would put 10 before 9.
    for (let i = 0; i < 12; i++) {
      const w = new TensorBoardWriter(dir, { now, hostname: 'h' });
      names.push(w.path.slice(dir.length + 1));
      w.close();
    }
    expect(eventFiles(dir)).toEqual(names);
  });

  it('a second writer in the same second keeps that second when its name already sorts later', () => {
    const now = () => 1_700_000_000;
    let first: TensorBoardWriter;
    // A counter ending in 9 would make the next one sort before it (…9 > …10): skip those.
    do {
      first = new TensorBoardWriter(freshDir(), { now, hostname: 'h' });
      first.close();
    } while (first.path.endsWith('9'));
    const second = new TensorBoardWriter(first.dir, { now, hostname: 'h' });
    second.close();
    expect(Number(second.path.split('.').at(-1))).toBe(Number(first.path.split('.').at(-1)) + 1);
    expect(basename(second.path).split('.')[3]).toBe('1700000000');
    expect(eventFiles(first.dir).map((f) => join(first.dir, f))).toEqual([first.path, second.path]);
  });

  it('a clock that went back still gives a later name', () => {
    const dir = freshDir();
    new TensorBoardWriter(dir, { now: () => 1_800_000_000 }).close();
    const second = new TensorBoardWriter(dir, { now: () => 1_700_000_000 });
    second.close();
    expect(eventFiles(dir).at(-1)).toBe(second.path.slice(dir.length + 1));
  });

  it('a torn last record (a crash mid-append) leaves the complete records readable', () => {
    const dir = freshDir();
    const w = new TensorBoardWriter(dir);
    w.addScalar('Reward', 1, 1);
    w.close();
    const whole = statSync(w.path).size;
    appendFileSync(w.path, Buffer.from([9, 0, 0, 0, 0, 0, 0]));
    const { events, tornBytes } = readEventFile(w.path);
    expect(tornBytes).toBe(statSync(w.path).size - whole);
    expect(events.at(-1)?.scalars).toEqual([{ tag: 'Reward', value: 1 }]);
  });

  it('TensorBoard’s restart rule: a later START drops the values at its step and after', () => {
    const dir = freshDir();
    const a = new TensorBoardWriter(dir, { now: () => 1_700_000_000 });
    a.addSessionStart(1);
    for (const s of [10, 20, 30, 40]) a.addScalar('Reward', s, s);
    a.close();
    const b = new TensorBoardWriter(dir, { now: () => 1_700_000_000 });
    b.addSessionStart(21);
    b.addScalar('Reward', 300, 30);
    b.close();
    expect(scalarsOfRun(dir, eventFiles(dir)).get('Reward')).toEqual([
      [10, 10],
      [20, 20],
      [30, 300],
    ]);
  });

  it('bad input is an error naming the method and the value', () => {
    const w = new TensorBoardWriter(freshDir());
    expect(() => w.addScalar('Reward', 1, 1.5)).toThrow(
      'TensorBoardWriter.addScalars: step must be an integer (an int64), got 1.5',
    );
    expect(() => w.addScalar('', 1, 1)).toThrow('a tag must be a non-empty string, got ""');
    expect(() => w.addScalar('Reward', '1' as unknown as number, 1)).toThrow(
      'the value of Reward must be a number, got string',
    );
    expect(() => w.addSessionStart(Number.NaN)).toThrow(
      'TensorBoardWriter.addSessionStart: step must be an integer',
    );
    w.close();
    w.close();
    expect(() => w.addScalar('Reward', 1, 1)).toThrow(`TensorBoardWriter.add: ${w.path} is already closed`);
    expect(() => w.flush()).toThrow('is already closed');
  });

  it('a directory that cannot be written to is an error naming the path', () => {
    const file = join(root, 'not-a-directory');
    writeFileSync(file, '');
    expect(() => new TensorBoardWriter(join(file, 'run'))).toThrow(/not-a-directory/);
  });
});
