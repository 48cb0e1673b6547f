import { WorkerEntrypoint } from "cloudflare:workers";
import { createServices } from "../services";
import { invalidVerifyRequest, type VerifyResult } from "./verify";
import { verifyAsked } from "./verify-credential";

/**
 * keygate as a service binding: another Worker on the account declares
 * `services = [{ binding = "KEYGATE", service = "keygate", entrypoint = "Keygate" }]` and calls
 * `env.KEYGATE.verify({ key, method, path, scopes })`: no HTTP hop, no token (the binding is the
 * permission). `key` may also be an OAuth access token, verified as the proxy verifies one. A
 * verification counts in the key's window exactly like a proxied request. Bad input
 * is answered, not thrown: `code: "invalid_request"` with a `message`, and nothing is counted.
 */
export class Keygate extends WorkerEntrypoint<Env> {
  async verify(input: unknown): Promise<VerifyResult> {
    const { VerifyRequest } = await import("./verify-request");
    const parsed = VerifyRequest.safeParse(input);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      return invalidVerifyRequest(`${issue.path.join(".") || "input"}: ${issue.message}`);
    }
    return verifyAsked(createServices(this.env, this.ctx), parsed.data);
  }
}
