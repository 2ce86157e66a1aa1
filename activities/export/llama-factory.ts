// LLaMA-Factory's training-set format: a ShareGPT JSON array whose rows keep `images` (the
// released formatter drops it, docs/method.md D1), and the dataset_info.json entry that names it.
import type { ChatMessage } from '../../core/compose/compose';

export interface ExportedRow {
  messages: ChatMessage[];
  images: string[];
}

/** Shape checks a trainer relies on; returns the first problem or null. */
export function validateExportedRow(row: ExportedRow): string | null {
  if (!Array.isArray(row.messages) || (row.messages.length !== 2 && row.messages.length !== 4)) return 'messages must hold 2 or 4 turns';
  for (let i = 0; i < row.messages.length; i++) {
    const want = i % 2 === 0 ? 'user' : 'assistant';
    if (row.messages[i].role !== want) return `turn ${i} must be ${want}`;
    if (typeof row.messages[i].content !== 'string') return `turn ${i} content must be text`;
  }
  if (!row.messages[0].content.startsWith('<image>\n')) return 'first turn must start with "<image>\\n"';
  if (!Array.isArray(row.images) || row.images.length !== 1) return 'images must hold exactly one path';
  return null;
}

/** The dataset_info.json entry of a ShareGPT file with messages and images. */
export function datasetInfo(name: string, fileName: string) {
  return {
    [name]: {
      file_name: fileName,
      formatting: 'sharegpt',
      columns: { messages: 'messages', images: 'images' },
      tags: { role_tag: 'role', content_tag: 'content', user_tag: 'user', assistant_tag: 'assistant' },
    },
  };
}
