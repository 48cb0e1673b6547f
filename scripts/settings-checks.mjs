// What `npm run dev` and `npm run deploy` check before they start anything, each problem as one
// plain sentence. The rules themselves are the worker's own (src/settings.ts, which Node runs with
// its types stripped), so a setting the worker would refuse is refused here first.
import { isAbsolute, relative } from "node:path";
import { LENGTH_CHECKED_SECRETS, OPTIONAL_SECRET_NAMES, readOriginUrl, SECRET_NAMES, tooShortSecret, unreachableFromCloudflare, weakSecret } from "../src/settings.ts";

export { SECRET_NAMES };

const ORIGIN_NAMES = ["ORIGIN_URL", "ORIGIN_URL_TEST"];
const EXAMPLE_ORIGIN = "https://api.example.com";

/**
 * `npm run dev`'s start, after the secrets file is complete: passes each weak secret the worker
 * accepts to `warn` (on this machine it is allowed), then throws (the message is the sentences to
 * print, one a line) when a setting in the file cannot work: a secret the worker refuses, an origin
 * that is empty or no http(s) URL. `originOverridden`: the demo origin's URL replaces
 * whatever the file says, so its ORIGIN_URL is not read.
 */
export function checkDevSettings({ vars, devVarsPath, originOverridden = false, warn = (line) => console.warn(line) }) {
  const file = displayPath(devVarsPath);
  const refusals = [];
  for (const name of SECRET_NAMES) {
    const problem = vars[name] ? weakSecret(vars[name]) : null;
    if (!problem) continue;
    if (LENGTH_CHECKED_SECRETS.includes(name) && tooShortSecret(vars[name])) {
      refusals.push(`${name} in ${file} ${problem}, and keygate refuses it: put a longer one there, or delete the line and a random one is written.`);
    } else {
      warn(`warning: ${name} in ${file} ${problem}: fine on this machine, refused by \`npm run deploy\`.`);
    }
  }
  for (const name of ORIGIN_NAMES) {
    if (!(name in vars) || (name === "ORIGIN_URL" && originOverridden)) continue;
    const { problem } = readOriginUrl(vars[name]);
    if (problem) refusals.push(`${name} in ${file} (${vars[name]}) ${problem}, such as http://127.0.0.1:3000.`);
    else if (name === "ORIGIN_URL" && !vars[name].trim()) {
      refusals.push(
        `${file} sets ORIGIN_URL to nothing, so keygate would have no API to send requests to: set it to your API's address ` +
          `(ORIGIN_URL=http://127.0.0.1:3000), or delete the line to use the demo origin.`,
      );
    }
  }
  if (refusals.length > 0) throw new Error(refusals.join("\n"));
}

const D1_ID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const KV_ID = /^[0-9a-f]{32}$/i;
const PLACEHOLDER_ID = /^[0-]+$/;

/** The deployment settings file's fields; `npm run deploy` writes the two ids itself. */
const DEPLOY_SETTINGS = {
  account_id: "the Cloudflare account to deploy to (else CLOUDFLARE_ACCOUNT_ID, or the only one you have)",
  vars: 'settings over wrangler.toml\'s [vars], such as {"ORIGIN_URL": "https://api.example.com"}',
  routes: 'the routes of your API\'s domain, as in wrangler.toml: [{"pattern": "api.example.com/*", "zone_name": "example.com"}]',
  d1_database_id: "the D1 database's id (found or created by name when absent)",
  kv_namespace_id: "the KV namespace's id (found or created by name when absent)",
};

/**
 * Everything that makes a deployment unable to work, each as a sentence; none means it may go on.
 *   settings:  the deployment settings file's content (see DEPLOY_SETTINGS)
 *   vars:      the worker's vars as deployed (wrangler.toml's, then the settings file's)
 *   secrets:   the secrets given for this deploy ({name: value}); those not given are asked for
 *   file:      the settings file's path, for the sentences
 */
export function deployRefusals({ settings, vars, secrets, file }) {
  const where = displayPath(file);
  const refusals = [];
  for (const name of Object.keys(settings)) {
    if (!(name in DEPLOY_SETTINGS)) refusals.push(`${where} has an unknown setting "${name}"; it knows ${Object.keys(DEPLOY_SETTINGS).join(", ")}.`);
  }
  const fileVars = settings.vars ?? {};
  if (typeof fileVars !== "object" || Array.isArray(fileVars)) {
    refusals.push(`"vars" in ${where} must be an object of names and text values, ${DEPLOY_SETTINGS.vars}.`);
  } else {
    for (const [name, value] of Object.entries(fileVars)) {
      if (SECRET_NAMES.includes(name)) {
        refusals.push(`${name} is a secret and never goes in ${where}: set it in the environment, or let the deploy ask for it.`);
      } else if (OPTIONAL_SECRET_NAMES.includes(name)) {
        refusals.push(`${name} is a secret and never goes in ${where}: \`npx wrangler secret put ${name}\` sets it.`);
      } else if (typeof value !== "string") {
        refusals.push(`vars.${name} in ${where} must be text (wrangler.toml's vars are), not ${JSON.stringify(value)}.`);
      }
    }
  }
  if (settings.routes !== undefined && !Array.isArray(settings.routes)) refusals.push(`"routes" in ${where} must be a list, ${DEPLOY_SETTINGS.routes}.`);
  if (settings.account_id !== undefined && !/^[0-9a-f]{32}$/i.test(String(settings.account_id))) {
    refusals.push(`account_id in ${where} (${settings.account_id}) is not a Cloudflare account id (32 hexadecimal digits).`);
  }
  refusals.push(...idRefusals(settings, where));
  refusals.push(...originRefusals(vars, where));
  for (const [name, value] of Object.entries(secrets)) {
    const problem = weakSecret(value);
    if (problem) refusals.push(`${name} ${problem}: a deployed keygate needs a random one (\`openssl rand -base64 32\` makes one).`);
  }
  return refusals;
}

function idRefusals(settings, where) {
  const refusals = [];
  for (const [field, shape, what, list] of [
    ["d1_database_id", D1_ID, "D1 database", "npx wrangler d1 list"],
    ["kv_namespace_id", KV_ID, "KV namespace", "npx wrangler kv namespace list"],
  ]) {
    const id = settings[field];
    if (id === undefined) continue;
    const fix = `delete it and \`npm run deploy\` finds or creates the ${what} by name, or set the id \`${list}\` shows.`;
    if (typeof id === "string" && PLACEHOLDER_ID.test(id)) {
      refusals.push(`${field} in ${where} is wrangler.toml's placeholder (${id}), which only names the ${what} on this machine: ${fix}`);
    } else if (typeof id !== "string" || !shape.test(id)) {
      refusals.push(`${field} in ${where} (${id}) is not a ${what} id: ${fix}`);
    }
  }
  return refusals;
}

function originRefusals(vars, where) {
  const refusals = [];
  for (const name of ORIGIN_NAMES) {
    const raw = vars[name];
    if (raw !== undefined && typeof raw !== "string") continue; // refused above, as a var that is not text
    const fix = `set your API's public address in ${where}: {"vars": {"${name}": "${EXAMPLE_ORIGIN}"}}.`;
    const { url, problem } = readOriginUrl(raw);
    if (problem) refusals.push(`${name} (${raw}) ${problem}: ${fix}`);
    else if (!url && name === "ORIGIN_URL") refusals.push(`ORIGIN_URL is not set, so keygate would have no API to send requests to: ${fix}`);
    else if (url) {
      const unreachable = unreachableFromCloudflare(url);
      if (unreachable) refusals.push(`${name} is ${raw.trim()}, ${unreachable}, which Cloudflare's network cannot reach: ${fix}`);
    }
  }
  return refusals;
}

/**
 * `path` as the person running the command would type it: relative when under the current
 * directory. (relative() answers an absolute path only on Windows, for another drive.)
 */
export function displayPath(path) {
  const near = relative(process.cwd(), path);
  return near && !near.startsWith("..") && !isAbsolute(near) ? near : path;
}
