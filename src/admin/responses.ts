import type { z } from "@hono/zod-openapi";
import { ErrorEnvelope } from "./schemas";

/** OpenAPI response declarations, so every route documents its errors the same way. */
export const json = <T extends z.ZodType>(schema: T, description: string) => ({ description, content: { "application/json": { schema } } });

export const jsonBody = <T extends z.ZodType>(schema: T, required = true) => ({ content: { "application/json": { schema } }, required });

const ERRORS = {
  400: "invalid_request: a field is missing, unknown, of the wrong type or out of range (details.fields)",
  401: "missing_credentials, invalid_token, or a refused API key",
  403: "insufficient_permissions",
  404: "not_found",
  409: "conflict",
  429: "too_many_failed_attempts or rate_limit_exceeded",
} as const;

type ErrorStatus = keyof typeof ERRORS;

export function errors<S extends ErrorStatus>(...statuses: S[]): Record<S, ReturnType<typeof json<typeof ErrorEnvelope>>> {
  return Object.fromEntries(statuses.map((status) => [status, json(ErrorEnvelope, ERRORS[status])])) as Record<S, ReturnType<typeof json<typeof ErrorEnvelope>>>;
}
