import type { Page } from "playwright-core";

/** axe-core's serious and critical violations on the page as it is now, one line each. */
export function accessibilityViolations(page: Page): Promise<string[]>;
/** What is wider than the window: the page, or a table scrolling inside its frame. */
export function horizontalOverflow(page: Page): Promise<string[]>;
