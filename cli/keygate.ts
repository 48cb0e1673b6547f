import { CommanderError } from "commander";
import { CliError, EXIT } from "./errors";
import { buildProgram } from "./program";
import { closeInput } from "./prompt";

/** Commander's ways of ending that are not mistakes. */
const COMMANDER_SUCCESS = new Set(["commander.helpDisplayed", "commander.version"]);

async function main(argv: string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(argv);
    return EXIT.ok;
  } catch (error) {
    // Commander has already printed its one line (or the help); only the exit code is left.
    if (error instanceof CommanderError) return COMMANDER_SUCCESS.has(error.code) ? EXIT.ok : EXIT.usage;
    if (error instanceof CliError) {
      process.stderr.write(`keygate: ${error.message}\n`);
      return error.exitCode;
    }
    return unexpected(error);
  } finally {
    closeInput();
  }
}

/** A bug in the CLI: still one line, never a stack trace. */
function unexpected(error: unknown): number {
  process.stderr.write(`keygate: unexpected error: ${error instanceof Error ? error.message : String(error)}\n`);
  return EXIT.refused;
}

// `keygate keys list | head -1` closes the pipe early: not an error at all.
process.stdout.on("error", (error: NodeJS.ErrnoException) => {
  process.exit(error.code === "EPIPE" ? (process.exitCode ?? EXIT.ok) : unexpected(error));
});
// Whatever escapes the command's promise (an event handler's throw) ends the same way.
process.on("uncaughtException", (error) => process.exit(unexpected(error)));
process.on("unhandledRejection", (error) => process.exit(unexpected(error)));

void main(process.argv).then((code) => {
  process.exitCode = code;
});
