import { describe, expect, it } from 'vitest';
import { sparklinePoints } from './sparkline';

describe('sparklinePoints', () => {
  it('needs two points', () => {
    expect(sparklinePoints([], 100, 20)).toBe('');
    expect(sparklinePoints([[1, 5]], 100, 20)).toBe('');
  });

  it('spans the box: oldest left, newest right, highest value at the top', () => {
    const pts = sparklinePoints(
      [
        [0, 10],
        [5, 20],
        [10, 15],
      ],
      100,
      22,
    );
    expect(pts).toBe('0,21 50,1 100,11');
  });

  it('draws a flat line through the middle when nothing changes', () => {
    expect(
      sparklinePoints(
        [
          [0, 3],
          [1, 3],
        ],
        10,
        20,
      ),
    ).toBe('0,10 10,10');
  });

  it('draws digital inputs as steps and skips unreadable values', () => {
    expect(
      sparklinePoints(
        [
          [0, false],
          [1, null],
          [2, true],
        ],
        10,
        12,
      ),
    ).toBe('0,11 10,11 10,1');
  });
});
