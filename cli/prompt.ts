import { createInterface } from "node:readline";
import { CliError, EXIT, UsageError } from "./errors";

/**
 * Questions are asked on standard error, so standard output stays clean for the result. Without a
 * terminal on standard input, nothing is asked: secrets are read from it, one line each, which is
 * how scripts pass them (`printf '%s\n' "$PASSWORD" | keygate login --email …`).
 */

export function interactive(): boolean {
  return process.stdin.isTTY === true;
}

let piped: { lines: AsyncIterator<string>; close(): void } | null = null;

/** The next line of a piped standard input, or null at its end. */
export async function readPipedLine(): Promise<string | null> {
  if (!piped) {
    const rl = createInterface({ input: process.stdin, terminal: false, crlfDelay: Infinity });
    piped = { lines: rl[Symbol.asyncIterator](), close: () => rl.close() };
  }
  const next = await piped.lines.next();
  return next.done ? null : next.value;
}

/** Stops reading a piped standard input, so a writer that keeps it open cannot keep the CLI running. */
export function closeInput(): void {
  if (!piped) return;
  piped.close();
  process.stdin.destroy();
  piped = null;
}

/** A secret: typed without echo at a terminal, else the next line of standard input. */
export async function readSecret(question: string, what: string): Promise<string> {
  const value = interactive() ? await askHidden(question) : await readPipedLine();
  if (value === null || value === "") throw new UsageError(`no ${what} given${interactive() ? "" : " on standard input"}.`);
  return value;
}

/** A visible answer at the terminal. */
export function ask(question: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: true });
    let answered = false;
    rl.on("SIGINT", () => {
      rl.close();
      process.stderr.write("\n");
      reject(interrupted());
    });
    rl.on("close", () => {
      if (!answered) reject(interrupted());
    });
    rl.question(question, (answer) => {
      answered = true;
      rl.close();
      resolve(answer.trim());
    });
  });
}

/** Yes only for y/yes; anything else, or Enter, is no. */
export async function confirm(question: string): Promise<boolean> {
  return /^y(es)?$/i.test(await ask(`${question} [y/N] `));
}

/**
 * A command that destroys goes ahead only when someone said so: `--yes`, or "y" at a terminal to
 * `question()` (which may look up what is about to be destroyed). Without a terminal and without
 * --yes it stops before anything is sent, exit 2, so a script never destroys by accident.
 */
export async function confirmDestruction(yes: boolean | undefined, doing: string, question: () => Promise<string>): Promise<void> {
  if (yes) return;
  if (!interactive()) throw new UsageError(`${doing} needs --yes when standard input is not a terminal; nothing was changed.`);
  if (!(await confirm(await question()))) throw new CliError("not confirmed; nothing was changed.", EXIT.refused);
}

/** Raw mode, so the terminal shows nothing of what is typed. */
function askHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let value = "";
    const finish = (outcome: () => void) => {
      stdin.off("data", onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write("\n");
      outcome();
    };
    const onData = (chunk: string) => {
      for (const char of chunk) {
        if (char === "\r" || char === "\n") return finish(() => resolve(value));
        if (char === "\u0003") return finish(() => reject(interrupted())); // Ctrl-C
        if (char === "\u0004") return finish(() => (value ? resolve(value) : reject(interrupted()))); // Ctrl-D
        if (char === "\u007f" || char === "\b") value = [...value].slice(0, -1).join("");
        else if (char >= " ") value += char;
      }
    };
    process.stderr.write(question);
    stdin.setEncoding("utf8");
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on("data", onData);
  });
}

function interrupted(): CliError {
  return new CliError("interrupted; nothing was changed.", EXIT.interrupted);
}
