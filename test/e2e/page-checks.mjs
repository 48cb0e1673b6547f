// What every console page is held to in the browser tests: no serious or critical finding of
// axe-core (the accessibility engine, injected into the page as its npm package ships it), and
// nothing wider than the window, neither the page nor a table inside it.
import { createRequire } from "node:module";

const AXE_SOURCE = createRequire(import.meta.url)("axe-core").source;
const BLOCKING = new Set(["serious", "critical"]);

/**
 * axe-core's serious and critical violations on the page as it is now, one line each.
 * Evaluated through the DevTools protocol, so the console's CSP (script-src 'self') stays on.
 * @param {import("playwright-core").Page} page
 */
export async function accessibilityViolations(page) {
  if (!(await page.evaluate(() => "axe" in window))) await page.evaluate(AXE_SOURCE);
  const result = await page.evaluate(() => /** @type {any} */ (window).axe.run(document, { resultTypes: ["violations"] }));
  return result.violations
    .filter((/** @type {any} */ v) => BLOCKING.has(v.impact))
    .map((/** @type {any} */ v) => `${v.impact} ${v.id} (${v.help}): ${v.nodes.map((/** @type {any} */ n) => n.target.join(" ")).join(", ")}`);
}

/**
 * What is wider than the window: the page itself (it would scroll sideways), or a table that
 * scrolls inside its frame (its last columns cut off until scrolled).
 * @param {import("playwright-core").Page} page
 */
export function horizontalOverflow(page) {
  return page.evaluate(() => {
    const wide = [];
    const root = document.documentElement;
    if (root.scrollWidth > root.clientWidth) wide.push(`the page: ${root.scrollWidth} px in a ${root.clientWidth} px window`);
    for (const el of document.querySelectorAll(".table-wrap, dialog, pre")) {
      if (el.scrollWidth <= el.clientWidth + 1) continue;
      // Name the first thing that sticks out, to say what to fix.
      const edge = el.getBoundingClientRect().left + el.clientWidth;
      const culprit = [...el.querySelectorAll("*")].find((child) => child.children.length === 0 && child.getBoundingClientRect().right > edge + 1);
      const what = culprit ? ` (${culprit.tagName.toLowerCase()} "${(culprit.textContent ?? "").slice(0, 40)}")` : "";
      wide.push(`${el.tagName.toLowerCase()}.${el.className}: ${el.scrollWidth} px in ${el.clientWidth} px${what}`);
    }
    return wide;
  });
}
