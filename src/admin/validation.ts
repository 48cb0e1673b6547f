import type { Hook } from "@hono/zod-openapi";
import { ApiError } from "../http/errors";

/** Every failed validation, of body, query or path, reads the same: 400 with the fields named. */
export const validationHook: Hook<unknown, any, any, any> = (result) => {
  if (result.success) return;
  const fields = result.error.issues.map((issue) => ({
    field: issue.path.join(".") || result.target,
    message: issue.message,
    ...(issue.code === "unrecognized_keys" ? { unknown: issue.keys } : {}),
  }));
  throw new ApiError("invalid_request", "The request is not valid.", { fields });
};
