import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { installedVersion, listFiles, readText, removeDir, runCommand, scratchDir, writeFiles, type CommandResult } from "./commands.mjs";

/**
 * keygate as a Worker project installs it: `npm pack` here, then a project of its own in a temp
 * directory (its own package.json, wrangler.toml with a service binding to keygate's `Keygate`
 * entrypoint, tsconfig and a Hono app using `keygate/hono`) installs the tarball with hono,
 * wrangler, typescript and the Workers types from the registry, type-checks with its own `tsc` and
 * settings, and bundles with `wrangler deploy --dry-run`.
 */

// The consumer's Workers types, pinned: its tsc checks every declaration file (no skipLibCheck),
// hono's and the Workers types' included, so a newer release of either must not fail this test.
const WORKERS_TYPES = "@cloudflare/workers-types@5.20261117.1";

const APP = `import { Hono } from "hono";
import type { KeygateBinding as Binding, VerifyResult } from "keygate";
import { keygate, type KeygateBinding, type KeygateVariables } from "keygate/hono";

type AppEnv = { Bindings: { KEYGATE: KeygateBinding }; Variables: KeygateVariables };

const app = new Hono<AppEnv>();
app.use("/api/*", keygate<AppEnv>({ binding: (c) => c.env.KEYGATE }));
app.get("/api/whoami", (c) => {
  const caller = c.get("keygate");
  // @ts-expect-error: the caller's identity is typed, so a key id is no number
  const wrong: number = caller.keyId;
  return c.json({ ...caller, wrong });
});
app.delete("/api/servers/:id", keygate<AppEnv>({ binding: (c) => c.env.KEYGATE, scopes: ["servers:delete"] }), (c) => c.body(null, 204));

// The binding's types without the middleware, as a Worker that calls verify itself uses them.
async function codeOf(binding: Binding, key: string): Promise<VerifyResult["code"]> {
  const result = await binding.verify({ key, method: "GET", path: "/" });
  // @ts-expect-error: a verdict code is one of keygate's, not any text
  const unknown: VerifyResult["code"] = "no_such_code";
  return result.valid ? result.code : unknown;
}
app.get("/verify", async (c) => c.text(await codeOf(c.env.KEYGATE, c.req.header("x-api-key") ?? "")));

export default app;
`;

const WRANGLER_TOML = `name = "my-api"
main = "src/index.ts"
compatibility_date = "2026-10-20"

[[services]]
binding = "KEYGATE"
service = "keygate"
entrypoint = "Keygate"
`;

const TSCONFIG = JSON.stringify(
  {
    compilerOptions: {
      target: "ES2022",
      module: "ESNext",
      moduleResolution: "Bundler",
      lib: ["ES2022"],
      types: ["@cloudflare/workers-types"],
      strict: true,
      noEmit: true,
      isolatedModules: true,
      verbatimModuleSyntax: true,
    },
    include: ["src"],
  },
  null,
  2,
);

describe("keygate/hono installed from `npm pack` into a Worker project of its own", () => {
  let dir: string;
  let project: string;
  let tarball: string;
  let install: CommandResult;

  beforeAll(async () => {
    dir = await scratchDir("package");
    project = `${dir}/my-api`;
    const pack = await runCommand("npm", ["pack", "--pack-destination", dir, "--json"]);
    expect(pack.code, pack.output).toBe(0);
    // npm's JSON report, after anything the build scripts printed.
    tarball = `${dir}/${JSON.parse(pack.stdout.slice(pack.stdout.search(/^\[/m)))[0].filename}`;
    await writeFiles(project, {
      "package.json": JSON.stringify({ name: "my-api", private: true, type: "module" }, null, 2),
      "wrangler.toml": WRANGLER_TOML,
      "tsconfig.json": TSCONFIG,
      "src/index.ts": APP,
    });
    // From npm's cache where this repository already installed the same versions.
    install = await runCommand("npm", [
      "install", "--prefer-offline", "--no-audit", "--no-fund",
      tarball,
      `hono@${installedVersion("hono")}`,
      `wrangler@${installedVersion("wrangler")}`,
      `typescript@${installedVersion("typescript")}`,
      WORKERS_TYPES,
    ], { cwd: project });
  }, 300_000);

  afterAll(async () => {
    if (dir) await removeDir(dir);
  });

  it("the tarball holds the built client and the CLI, none of keygate's sources, and depends on nothing but hono", async () => {
    const listing = await runCommand("tar", ["-tzf", tarball]);
    expect(listing.stdout.trim().split("\n").sort()).toEqual([
      "package/README.md",
      "package/dist-cli/keygate.cjs",
      "package/dist-client/hono.d.ts",
      "package/dist-client/hono.js",
      "package/dist-client/index.d.ts",
      "package/dist-client/index.js",
      "package/package.json",
    ]);
    expect(install.code, install.output).toBe(0);
    const installed = JSON.parse(await readText(`${project}/node_modules/keygate/package.json`));
    expect(installed.dependencies).toBeUndefined();
    expect(Object.keys(installed.peerDependencies)).toEqual(["hono"]);
    // Nothing of the worker came along: no zod, no OpenAPI, no JWT library in the project.
    const modules = await listFiles(`${project}/node_modules/keygate`);
    expect(modules.filter((file) => file.startsWith("node_modules/"))).toEqual([]);
    for (const declarations of ["hono.d.ts", "index.d.ts"]) {
      const text = await readText(`${project}/node_modules/keygate/dist-client/${declarations}`);
      expect(text.match(/from ['"][^'"]+['"]/g) ?? [], declarations).toEqual(declarations === "hono.d.ts" ? ["from 'hono'"] : []);
    }
  });

  it("the project type-checks with its own strict settings and tsc, declaration files included", async () => {
    expect(install.code, install.output).toBe(0);
    const tsc = await runCommand("npx", ["--no-install", "tsc", "--noEmit", "-p", "."], { cwd: project });
    expect(tsc.code, tsc.output).toBe(0);
    // The check is real: a wrong use of keygate's types fails it, naming the type.
    await writeFiles(project, { "src/wrong.ts": `import { keygate } from "keygate/hono";\nexport const m = keygate({ binding: () => ({}) });\n` });
    const wrong = await runCommand("npx", ["--no-install", "tsc", "--noEmit", "-p", "."], { cwd: project });
    await removeDir(`${project}/src/wrong.ts`);
    expect(wrong.code).not.toBe(0);
    expect(wrong.stdout).toMatch(/src\/wrong\.ts.*verify/s);
  });

  it("wrangler bundles the app with the middleware, bound to keygate's Keygate entrypoint, and nothing of keygate's worker", async () => {
    expect(install.code, install.output).toBe(0);
    const build = await runCommand("npx", ["--no-install", "wrangler", "deploy", "--dry-run", "--outdir", "out"], { cwd: project });
    expect(build.code, build.output).toBe(0);
    expect(build.stdout).toMatch(/env\.KEYGATE \(keygate#Keygate\)/);
    const bundle = await readText(`${project}/out/index.js`);
    // The middleware answers as the gateway does: its error codes and rate-limit headers are in.
    for (const text of ["missing_credentials", "auth_unavailable", "x-ratelimit-remaining", "www-authenticate"]) expect(bundle).toContain(text);
    // keygate's worker is not: no Durable Object, no admin API, no zod.
    for (const text of ["KeyGuard", "/_keygate/v1", "ZodError"]) expect(bundle).not.toContain(text);
  });
});
