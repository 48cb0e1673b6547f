// Types for build-assets.mjs (plain ESM: wrangler's [build] runs it with any Node).

/** Where wrangler serves the worker's static assets from (wrangler.toml [assets]). */
export const STATIC_DIR: string;
/** The Swagger UI files the docs page loads, served under /_keygate/docs/. */
export const SWAGGER_UI_FILES: readonly string[];
/** Brings static/ to what it should hold, replacing only files whose bytes change. */
export function buildAssets(): void;
/** SHA-256 (hex) of each Swagger UI file as the locked swagger-ui-dist has it, by file name. */
export function swaggerUiHashes(): Record<string, string>;
