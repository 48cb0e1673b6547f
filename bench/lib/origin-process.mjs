// The loopback origin in its own process, so serving it never competes with the load generator
// for one event loop. Started with fork(); reports its URL over IPC and exits when told to.
import { fork } from "node:child_process";
import { fileURLToPath } from "node:url";

const isChild = process.argv[2] === "--child";

if (isChild) {
  const { startOrigin } = await import("../../scripts/origin.mjs");
  const origin = await startOrigin();
  process.send({ url: origin.url });
  process.on("message", async (message) => {
    if (message === "close") {
      await origin.close();
      process.exit(0);
    }
  });
  process.on("disconnect", () => process.exit(0));
}

/** Starts the origin in a child process; resolves with its URL and a close(). */
export function spawnOrigin() {
  const child = fork(fileURLToPath(import.meta.url), ["--child"], { stdio: ["ignore", "inherit", "inherit", "ipc"] });
  return new Promise((resolve, reject) => {
    child.once("error", reject);
    child.once("exit", (code) => reject(new Error(`origin process exited early (${code})`)));
    child.once("message", ({ url }) => {
      child.removeAllListeners("exit");
      resolve({
        url,
        pid: child.pid,
        close: () =>
          new Promise((done) => {
            child.once("exit", () => done());
            child.send("close");
          }),
      });
    });
  });
}

/** Requests the origin has seen per x-keygate-key-id. */
export async function originCounts(originUrl) {
  const res = await fetch(`${originUrl}/__origin/counts`);
  return res.json();
}
