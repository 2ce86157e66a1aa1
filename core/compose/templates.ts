// adamllm's own instruction templates (docs/method.md §7.2 asks the project to author them).
// A template is [inputs, targets]: the user turn and the assistant turn, filled literally.
// Most ask the question and expect the answer; a few reverse the task (answer → question,
// or ask for the reasoning) as the method's FLAN-style lists do, at a lower share.

export type Template = readonly [inputs: string, targets: string];

export const TEMPLATE_SET_VERSION = 'adamllm-v1';

/** Placeholders {question}, {answer}. Used for routes A and B. */
export const BASIC_TEMPLATES: readonly Template[] = [
  ['{question}', '{answer}'],
  ['{question}', '{answer}'],
  ['{question}', '{answer}'],
  ['{question}', '{answer}'],
  ['{question}', '{answer}'],
  ['{question}', '{answer}'],
  ['{question}', '{answer}'],
  ['{question}', '{answer}'],
  ['Look at the image and respond.\n\n{question}', '{answer}'],
  ['{question}\nBase your reply on what the picture shows.', '{answer}'],
  ['Using the image, address the following.\n{question}', '{answer}'],
  ['Here is a request about the picture: {question}', '{answer}'],
  ['Study the image carefully, then respond to this: {question}', '{answer}'],
  ['{question}\n\nRespond using details visible in the image.', '{answer}'],
  ['Image-based question:\n{question}', '{answer}'],
  ['{question} Refer to the image.', '{answer}'],
  ['With the image in mind: {question}', 'Response: {answer}'],
  ['{question}', 'From the image: {answer}'],
  ['Examine the picture. {question}', 'Looking at the image, {answer}'],
  ['Write a question about this image whose answer is the following.\n{answer}', '{question}'],
  ['Given the image, what question would lead to this response?\n\n{answer}', '{question}'],
  ['Propose a question about the picture that this reply answers: {answer}', '{question}'],
];

/** Placeholders {question}, {cot}, {answer}. Used for route C (rationale, then the short answer). */
export const RATIONALE_TEMPLATES: readonly Template[] = [
  ['{question}', '{cot}\n\nSo the answer is: {answer}'],
  ['{question}', '{cot}\nTherefore: {answer}'],
  ['{question}', '{cot} In short, {answer}'],
  ['{question}', '{cot}\n\nAnswer: {answer}'],
  ['{question}', '{cot}\nConclusion: {answer}'],
  ['{question}', '{cot}\n\nShort answer: {answer}'],
  ['{question}\nExplain your reasoning before answering.', '{cot}\nThe answer is {answer}.'],
  ['{question}\nThink it through using the image, then answer.', '{cot}\n\nFinal answer: {answer}'],
  ['Reason step by step about the image. {question}', '{cot}\nHence: {answer}'],
  ['{question}\nGive a rationale first.', 'Rationale: {cot}\nAnswer: {answer}'],
  ['Look at the picture and reason carefully.\n{question}', '{cot}\n\nThe answer: {answer}'],
  ['{question} Justify your reply.', '{cot} That gives {answer}.'],
  ['{question}\nAnswer briefly, then explain.', '{answer}\n\nExplanation: {cot}'],
  ['{question}', '{answer}. {cot}'],
  ['{question}\nState the answer, then the evidence in the image.', 'Answer: {answer}\nEvidence: {cot}'],
  ['Question: {question}\nAnswer: {answer}\nExplain why this answer fits the image.', '{cot}'],
  ['{question}\nThe answer is "{answer}". What in the image supports it?', '{cot}'],
  ['Here is an answer and an explanation about the image.\nAnswer: {answer}\nExplanation: {cot}\nWhat question were they responding to?', '{question}'],
  ['Explanation: {cot}\nWrite the question this explanation addresses, then give the short answer.', 'Question: {question}\nAnswer: {answer}'],
  ['The short answer is "{answer}". Pose the matching question about the image and explain the answer.', 'Question: {question}\nExplanation: {cot}'],
];

const ALLOWED: Record<'basic' | 'rationale', ReadonlySet<string>> = {
  basic: new Set(['question', 'answer']),
  rationale: new Set(['question', 'cot', 'answer']),
};

/** Checks a template list at load: only the set's placeholders, and no stray braces. */
export function validateTemplates(kind: 'basic' | 'rationale', list: readonly Template[]): string[] {
  const problems: string[] = [];
  list.forEach((tpl, i) => {
    for (const text of tpl) {
      const withoutPlaceholders = text.replace(/\{(\w+)\}/g, (m, name: string) => {
        if (!ALLOWED[kind].has(name)) problems.push(`${kind}[${i}]: placeholder {${name}} is not allowed`);
        return '';
      });
      if (/[{}]/.test(withoutPlaceholders)) problems.push(`${kind}[${i}]: stray brace`);
    }
  });
  return problems;
}
