// The one place the end-to-end tests get a browser from.
//
// CHROMIUM_PATH, when set, names the Chromium to drive. Otherwise the tests drive the headless
// Chromium build that the devDependency @sparticuz/chromium ships inside its npm package, so that
// `npm install && npm test` needs nothing from outside the npm registry (playwright-core cannot
// download its own browser offline). Its brotli-compressed binary and the few shared libraries it
// links (NSS, NSPR, expat) are unpacked once, on the first launch, under node_modules/.cache, where
// they live and die with the install that brought them.
import { spawnSync } from "node:child_process";
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, renameSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";
import { pipeline } from "node:stream/promises";
import { createBrotliDecompress } from "node:zlib";
import { chromium } from "playwright-core";

const PROJECT_ROOT = resolve(import.meta.dirname, "../..");

// Headless, and quiet: with no network here, Chromium's background services (updates, sync,
// safe browsing, QUIC probes) would only retry against closed ports. Playwright gives every
// launch a fresh --user-data-dir of its own and removes it on close.
const FLAGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];

/**
 * A headless Chromium driven by playwright-core.
 * @param {import("playwright-core").LaunchOptions} [options]
 */
export async function launchBrowser(options = {}) {
  const { executablePath, env } = await chromiumExecutable();
  return chromium.launch({
    executablePath,
    headless: true,
    ...options,
    args: [...FLAGS, ...(options.args ?? [])],
    env: { ...process.env, ...env, ...options.env },
  });
}

/** Which Chromium to run, and what its process needs in its environment. */
export async function chromiumExecutable() {
  if (process.env.CHROMIUM_PATH) return { executablePath: process.env.CHROMIUM_PATH, env: {} };
  if (process.platform !== "linux" || process.arch !== "x64") {
    throw new Error(
      `@sparticuz/chromium ships a Chromium for Linux x64 only; on ${process.platform}-${process.arch} ` +
        "set CHROMIUM_PATH to a Chromium or Chrome binary (for example CHROMIUM_PATH=$(which chromium) npm test).",
    );
  }
  const dir = await unpackedChromium();
  const libs = join(dir, "lib");
  return {
    executablePath: join(dir, "chromium"),
    env: { LD_LIBRARY_PATH: [libs, process.env.LD_LIBRARY_PATH].filter(Boolean).join(":") },
  };
}

/** The unpacked build's folder, unpacking it first if this install has not yet. */
async function unpackedChromium() {
  const entry = createRequire(import.meta.url).resolve("@sparticuz/chromium");
  const packageDir = resolve(dirname(entry), "..");
  const { version } = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8"));
  const dir = join(PROJECT_ROOT, "node_modules", ".cache", "keygate-chromium", version);
  if (existsSync(join(dir, "chromium"))) return dir;

  // Unpacked beside the final folder and renamed into place, so that a run interrupted half-way
  // (or another process unpacking at the same time) never leaves a folder that looks complete.
  const partial = `${dir}.partial-${process.pid}`;
  rmSync(partial, { recursive: true, force: true });
  mkdirSync(join(partial, "lib"), { recursive: true });
  try {
    const bin = join(packageDir, "bin");
    await pipeline(createReadStream(join(bin, "chromium.br")), createBrotliDecompress(), createWriteStream(join(partial, "chromium"), { mode: 0o755 }));
    await untarBrotli(join(bin, "al2023.tar.br"), partial); // lib/libnss3.so and the rest
    renameSync(partial, dir);
  } catch (error) {
    rmSync(partial, { recursive: true, force: true });
    if (existsSync(join(dir, "chromium"))) return dir; // another process finished first
    throw error;
  }
  return dir;
}

/** Extracts a brotli-compressed tar archive with the system's `tar`. */
async function untarBrotli(archive, into) {
  // Decompressed to a file first: `tar` may exit at the archive's end marker before reading a
  // pipe to its end, which would break the stream feeding it.
  const tarFile = join(into, "archive.tar");
  await pipeline(createReadStream(archive), createBrotliDecompress(), createWriteStream(tarFile));
  const tar = spawnSync("tar", ["-x", "-f", tarFile, "-C", into], { encoding: "utf8" });
  rmSync(tarFile);
  if (tar.status !== 0) throw new Error(`tar could not extract ${archive}: ${tar.error?.message ?? tar.stderr}`);
}
