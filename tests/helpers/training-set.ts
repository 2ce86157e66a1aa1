// The toy training set of samples/training-set.ts in a fresh temp folder.
import { toyTrainingSet as make } from '../../samples/training-set';
import { tempDir } from './env';

export const toyTrainingSet = (count = 8) => make(tempDir('trainset'), count);
