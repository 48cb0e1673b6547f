// Miniflare's workerd does not die with its parent. If the bench is killed outright (SIGKILL,
// a test runner's timeout), this small process notices its IPC channel close, ends workerd and
// removes the run's state (which may be a gigabyte on tmpfs).
import { fork } from "node:child_process";
import { rmSync } from "node:fs";
import { fileURLToPath } from "node:url";

if (process.argv[2] === "--child") {
  const [target, ...dirs] = process.argv.slice(3);
  process.on("disconnect", () => {
    try {
      process.kill(Number(target), "SIGKILL");
    } catch {
      // already gone
    }
    // workerd may hold the files a moment longer; removal does not need it gone.
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    process.exit(0);
  });
} else if (process.argv[1] === fileURLToPath(import.meta.url)) {
  throw new Error("watchdog.mjs is started by the bench, not by hand");
}

/**
 * Ends `pid` and removes `dirs` when this process goes away, however it goes. Returns a release()
 * for a clean exit.
 */
export function guard(pid, dirs = []) {
  const child = fork(fileURLToPath(import.meta.url), ["--child", String(pid), ...dirs], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  child.unref();
  child.channel?.unref();
  return () => {
    child.removeAllListeners();
    child.kill();
  };
}
