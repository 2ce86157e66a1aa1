// firstDifference: the server's prompt ids against the method's, where the server's processor
// has expanded the one image slot into a run of patch ids (the same id, or another one).
import { firstDifference } from '../../activities/inference/endpoint-check';

const SLOT = 9;

test('equal ids, and a slot expanded into a run of itself or of another id, match', () => {
  expect(firstDifference([1, 2, SLOT, 3], [1, 2, SLOT, 3], SLOT)).toBeUndefined();
  expect(firstDifference([1, 2, SLOT, 3], [1, 2, SLOT, SLOT, SLOT, 3], SLOT)).toBeUndefined();
  expect(firstDifference([1, 2, SLOT, 3], [1, 2, 77, 77, 77, 77, 3], SLOT)).toBeUndefined();
});

test('the first difference is named by its position in each sequence', () => {
  // one BOS where the method has two
  expect(firstDifference([0, 0, 5, SLOT, 6], [0, 5, SLOT, SLOT, 6], SLOT)).toEqual({ want: 1, got: 1 });
  // a line break after the image that the method does not have
  expect(firstDifference([1, SLOT, 4, 5], [1, SLOT, SLOT, 13, 4, 5], SLOT)).toEqual({ want: 2, got: 3 });
  // the server's prompt ends early (a closed turn cut), or goes on (a generation prompt added)
  expect(firstDifference([1, SLOT, 4, 5], [1, SLOT, SLOT, 4], SLOT)).toEqual({ want: 3, got: 4 });
  expect(firstDifference([1, SLOT, 4], [1, SLOT, 4, 7, 8], SLOT)).toEqual({ want: 3, got: 3 });
});
