// Where a bench script builds and keeps its state: a work directory under bench/.tmp (gitignored),
// and the runtime's D1, KV and Durable Object files on tmpfs when there is one: every admission
// commits a SQLite write, and on a shared VM the disk's fsync latency swings with the neighbours' I/O.
import { existsSync, mkdirSync, mkdtempSync } from "node:fs";
import { join } from "node:path";

/** `label` names both directories; `stateParent` overrides where the state goes (run.mjs --state-dir). */
export function makeWorkDirs(root, label, stateParent = null) {
  mkdirSync(join(root, "bench", ".tmp"), { recursive: true });
  const work = mkdtempSync(join(root, "bench", ".tmp", `${label}-`));
  const parent = stateParent ?? (existsSync("/dev/shm") ? "/dev/shm" : work);
  mkdirSync(parent, { recursive: true });
  return { work, stateParent: parent, stateDir: mkdtempSync(join(parent, `keygate-${label}-`)) };
}
