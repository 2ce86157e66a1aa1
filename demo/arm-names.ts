// The names of the demo's comparison arms, apart from the arms themselves (arms.ts), so that the
// sizes can name an arm without arms.ts and sizes.ts importing each other.
export const ARM_NAMES = ['captions', 'rules', 'unfiltered', 'adamllm', 'two-stage', 'ceiling'] as const;

export type ArmName = (typeof ARM_NAMES)[number];
