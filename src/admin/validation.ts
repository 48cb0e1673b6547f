import type { Hook } from "@hono/zod-openapi";
import { ApiError } from "../http/errors";

/** Where a failing value came from, in the caller's words (zod-validator calls the body "json"). */
const TARGET_NAMES: Record<string, string> = { json: "body", param: "path", query: "query" };

/**
 * Every failed validation, of body, query or path, reads the same: 400 with the fields named.
 * An issue about the whole object (an unknown field, a missing "at least one of") names the part
 * of the request it is about.
 */
export const validationHook: Hook<unknown, any, any, any> = (result) => {
  if (result.success) return;
  const fields = result.error.issues.map((issue) => ({
    field: issue.path.join(".") || (TARGET_NAMES[result.target] ?? result.target),
    message: issue.message,
    ...(issue.code === "unrecognized_keys" ? { unknown: issue.keys } : {}),
  }));
  throw new ApiError("invalid_request", "The request is not valid.", { fields });
};
