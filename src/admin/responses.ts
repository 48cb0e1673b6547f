import { z } from "@hono/zod-openapi";
import { ERROR_CODES, ERROR_STATUS, type ErrorCode } from "../http/errors";
import { ErrorEnvelope } from "../http/error-envelope";

/** OpenAPI response declarations, so every route documents its answers the same way. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });

export const jsonBody = <T extends z.ZodType>(schema: T, required = true) => ({ content: { "application/json": { schema } }, required });

// Codes only the proxy gives: the admin API never talks to the origin.
const PROXY_ONLY = new Set<ErrorCode>(["origin_unreachable", "origin_timeout"]);

type ErrorStatus = 400 | 401 | 403 | 404 | 409 | 413 | 429 | 500 | 503;

/** The codes the admin API answers with `status`, read off the error table. */
export function codesFor(status: ErrorStatus): ErrorCode[] {
  return ERROR_CODES.filter((code) => ERROR_STATUS[code] === status && !PROXY_ONLY.has(code));
}

/** One status's envelope: the shared schema, with this status's codes listed. */
function errorResponse(status: ErrorStatus) {
  const codes = codesFor(status);
  const schema = ErrorEnvelope.extend({ error: ErrorEnvelope.shape.error.extend({ code: z.enum(codes as [ErrorCode, ...ErrorCode[]]) }) });
  return json(schema, `${codes.join(", ")}.`);
}

/** What any route can answer, whatever it does: no body over the limit, keygate unavailable or misconfigured. */
const ALWAYS: ErrorStatus[] = [413, 500, 503];
/** What every route behind a credential can also answer: refused credentials, missing rights, throttling. */
const GUARDED: ErrorStatus[] = [401, 403, 429];

type ErrorResponses = Record<ErrorStatus, ReturnType<typeof errorResponse>>;

/** The error responses of a route behind a credential, plus its own (`400`, `404`, `409`). */
export function guardedErrors(...own: ErrorStatus[]): Partial<ErrorResponses> {
  return errors(...own, ...GUARDED);
}

/** The error responses of a route, with those every route can give. */
export function errors(...statuses: ErrorStatus[]): Partial<ErrorResponses> {
  const all = [...new Set([...statuses, ...ALWAYS])].sort();
  return Object.fromEntries(all.map((status) => [status, errorResponse(status)]));
}
