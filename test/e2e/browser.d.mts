// Types for browser.mjs (plain ESM, like support.mjs).
import type { Browser, LaunchOptions } from "playwright-core";

/** A headless Chromium driven by playwright-core: CHROMIUM_PATH if set, else the build @sparticuz/chromium ships. */
export function launchBrowser(options?: LaunchOptions): Promise<Browser>;

/** Which Chromium to run, and what its process needs in its environment (unpacks the shipped build on first use). */
export function chromiumExecutable(): Promise<{ executablePath: string; env: Record<string, string> }>;
