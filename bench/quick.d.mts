// Types for quick.mjs. The results are bench/run.mjs's results.json, loosely typed on purpose:
// the test reads the fields it checks.
export interface QuickBench {
  results: Record<string, any>;
  markdown: string;
  output: string;
}
export function runQuickBench(): Promise<QuickBench>;
