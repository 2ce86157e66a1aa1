// `adamllm check-endpoint <baseUrl>`: one request of a model stage's kind against a server
// before a run uses it (activities/inference/endpoint-check.ts). Exit 0 when the server builds
// the method's prompt, 1 with each difference named.
import { Command, Option } from 'commander';
import { checkEndpoint } from '../../activities/inference/endpoint-check';

export function registerCheckEndpoint(program: Command): void {
  program
    .command('check-endpoint <baseUrl>')
    .description('send one synthesize or evaluate request, built as the stage builds it, and check that the server (vLLM) makes the method\'s prompt of it, token for token')
    .requiredOption('--model <name>', 'the served model name (as in the spec\'s model.model)')
    .addOption(new Option('--stage <stage>', 'which stage\'s request').choices(['synthesize', 'evaluate']).default('synthesize'))
    .addOption(new Option('--format <format>', 'synthesize: the promptFormat; evaluate: the promptFamily').choices(['qwen2vl', 'llava-llama3']).default('qwen2vl'))
    .option('--api-key-env <name>', 'environment variable holding the API key (as the spec\'s apiKeyEnv)')
    .action(async (baseUrl: string, o: { model: string; stage: 'synthesize' | 'evaluate'; format: 'qwen2vl' | 'llava-llama3'; apiKeyEnv?: string }) => {
      const apiKey = o.apiKeyEnv ? process.env[o.apiKeyEnv] : undefined;
      if (o.apiKeyEnv && !apiKey) throw new Error(`--api-key-env ${o.apiKeyEnv}: that variable is not set`);
      const r = await checkEndpoint({ baseUrl, model: o.model, apiKey, stage: o.stage, format: o.format });
      for (const n of r.notes) process.stdout.write(`  ${n}\n`);
      for (const p of r.problems) process.stdout.write(`PROBLEM: ${p}\n`);
      process.stdout.write(r.ok ? `ok: ${baseUrl} (${o.model}) builds the method's ${o.stage} prompt (${o.format}) token for token\n` : `not ready: ${r.problems.length} problem(s)\n`);
      process.exitCode = r.ok ? 0 : 1;
    });
}
