// Types for commands.mjs (plain ESM so that Node's APIs stay out of the workerd-typed test tree).

export const ROOT: string;

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** stdout, then stderr */
  output: string;
}

export function childEnv(extra?: Record<string, string>): Record<string, string>;
export function runCommand(command: string, args: string[], options?: { cwd?: string; env?: Record<string, string> }): Promise<CommandResult>;
export function scratchDir(prefix: string): Promise<string>;
export function removeDir(dir: string): Promise<void>;
export function writeFiles(dir: string, files: Record<string, string>): Promise<void>;
export function readText(path: string): Promise<string>;
export function pathExists(path: string): boolean;
export function listFiles(dir: string): Promise<string[]>;
export function installedVersion(name: string): string;
export function devStartOutcome(options: { devVarsPath: string; persistTo: string }): Promise<{ log: string[]; error: string | null }>;
