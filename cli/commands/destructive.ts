import type { Command } from "commander";
import { confirmDestruction } from "../prompt";
import { Session } from "../session";

/** A command that destroys one resource, named by its id. */
export interface Destruction {
  name: string;
  description: string;
  /** The id argument's help ("the key's id (key_…)") and its check. */
  id: { help: string; parse: (text: string) => string; example: string };
  /** What is being done, for the refusal without a terminal: "revoking". */
  doing: string;
  /** The question at a terminal, naming what would be destroyed as a person recognises it. */
  question: (session: Session, id: string) => Promise<string>;
  run: (session: Session, id: string) => Promise<void>;
}

/**
 * Adds `parent <name> <id> [--yes]`: at a terminal it asks first; without one it needs --yes and
 * otherwise stops with exit 2 before anything is sent (see confirmDestruction).
 */
export function addDestructive(parent: Command, destruction: Destruction): void {
  const { name, description, id, doing, question, run } = destruction;
  parent
    .command(name)
    .description(description)
    .argument("<id>", id.help, id.parse)
    .option("-y, --yes", "go ahead without asking; required when standard input is not a terminal")
    .addHelpText(
      "after",
      `\nAt a terminal you are asked to confirm; a script (no terminal on standard input) must pass --yes.\n\nExample:\n  $ keygate ${parent.name()} ${name} ${id.example} --yes`,
    )
    .action(async (target: string, options: { yes?: boolean }, command: Command) => {
      const session = new Session(command);
      await confirmDestruction(options.yes, `${doing} ${target}`, () => question(session, target));
      await run(session, target);
    });
}
