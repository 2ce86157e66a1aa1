// The registry's task names on their own, so the run spec (validated inside the workflow
// sandbox) can name them without loading the label vocabularies and metrics.
export const TASK_NAMES = ['VQA_RAD', 'SLAKE', 'PathVQA', 'PMC_VQA', 'Recipe1M', 'Food101', 'FoodSeg103', 'Nutrition5K'] as const;
export type TaskName = (typeof TASK_NAMES)[number];
