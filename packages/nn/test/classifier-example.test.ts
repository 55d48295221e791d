/**
 * examples/classifier.ts: an MLP trained with crossEntropyLoss on two moons reaches at
 * least 97% training accuracy, for several seeds (issue 23's bar), and the loss falls.
 */
import { describe, expect, it } from 'vitest';
import { trainClassifier } from '../../../examples/classifier.ts';

describe('the two-moons classifier example', () => {
  it.each([0, 1, 2])('seed %i: training accuracy of at least 97 percent, and the loss falls', (seed) => {
    const { accuracy, losses } = trainClassifier(seed);
    expect(accuracy).toBeGreaterThanOrEqual(0.97);
    expect(losses.at(-1)![1]).toBeLessThan(losses[0]![1] / 10);
  });
});
