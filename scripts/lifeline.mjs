// node scripts/lifeline.mjs <command> [args...]
// Runs the command and ties its life to whoever started this: when our stdin closes (the parent
// exited, crashed or was killed, even with SIGKILL), the command and everything it started
// (workerd, for `wrangler dev`) is stopped. Started as a process-group leader by scripts/local.mjs.
import { spawn } from "node:child_process";

const GRACE_MS = 5_000;
const [command, ...args] = process.argv.slice(2);
const child = spawn(command, args, { stdio: ["ignore", "inherit", "inherit"] });

let stopping = false;
function stop(signal) {
  if (stopping) return;
  stopping = true;
  child.kill(signal);
  // Whatever did not go in time goes now: our whole group, ourselves included.
  setTimeout(() => process.kill(-process.pid, "SIGKILL"), GRACE_MS).unref();
}

child.once("error", (error) => {
  console.error(`lifeline: cannot start ${command}: ${error.message}`);
  process.exit(127);
});
child.once("exit", (code, signal) => {
  // Children of the command (workerd) must not outlive it.
  try {
    process.kill(-process.pid, "SIGTERM");
  } catch {
    // not a group leader: nothing else to take down
  }
  process.exit(code ?? (signal ? 1 : 0));
});
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => stop(signal));
process.stdin.on("close", () => stop("SIGTERM"));
process.stdin.on("end", () => stop("SIGTERM"));
process.stdin.resume();
