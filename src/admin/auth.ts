import type { MiddlewareHandler } from "hono";
import { ApiError } from "../http/errors";
import { secretsEqual } from "../keys/hash";
import type { AdminEnv } from "./context";

const CHALLENGE = 'Bearer realm="keygate-admin"';

/** The bearer token of an admin call, or a 401 with the RFC 6750 challenge. */
export function bearerToken(header: string | undefined): string {
  const match = header?.match(/^Bearer[ ]+(\S+)\s*$/i);
  if (!header || !header.trim()) {
    throw new ApiError("missing_credentials", "Admin calls need Authorization: Bearer <token>.", null, { "www-authenticate": CHALLENGE });
  }
  if (!match) throw invalidToken();
  return match[1]!;
}

export function invalidToken(): ApiError {
  return new ApiError("invalid_token", "The admin token is not valid.", null, {
    "www-authenticate": `${CHALLENGE}, error="invalid_token"`,
  });
}

/** ADMIN_TOKEN, compared in constant time, is the root credential. */
export const requireAdmin: MiddlewareHandler<AdminEnv> = async (c, next) => {
  const token = bearerToken(c.req.header("authorization"));
  const expected = c.var.config.adminToken;
  if (!expected || !(await secretsEqual(token, expected))) throw invalidToken();
  c.set("principal", { kind: "root" });
  await next();
};
