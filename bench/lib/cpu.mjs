// CPU time the workerd process spends, read from /proc (Linux). On a shared machine req/s moves
// with the neighbours' load; CPU per request mostly does not, so it is the steadier cost figure.
import { execFileSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

let ticksPerSecond = 100;
try {
  ticksPerSecond = Number(execFileSync("getconf", ["CLK_TCK"]).toString().trim()) || 100;
} catch {}

function stat(pid) {
  const text = readFileSync(`/proc/${pid}/stat`, "utf8");
  // The command name may contain spaces; fields are counted after its closing parenthesis.
  const close = text.lastIndexOf(")");
  return { comm: text.slice(text.indexOf("(") + 1, close), fields: text.slice(close + 2).split(" ") };
}

/** The workerd that Miniflare started for this process, or null where /proc is not available. */
export function findWorkerd(parent = process.pid) {
  try {
    for (const entry of readdirSync("/proc")) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const { comm, fields } = stat(entry);
        if (comm === "workerd" && Number(fields[1]) === parent) return Number(entry);
      } catch {}
    }
  } catch {}
  return null;
}

/** User + system CPU seconds of a process so far (all its threads), or null. */
export function cpuSeconds(pid) {
  if (!pid) return null;
  try {
    const { fields } = stat(pid);
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond;
  } catch {
    return null;
  }
}
