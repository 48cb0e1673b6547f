import type { Context } from "hono";
import { HTTPException } from "hono/http-exception";
import { ConfigurationError } from "../config";
import { GuardUnavailable, StorageError } from "../store/errors";
import { prefixedId } from "../keys/random";
import { ApiError, authUnavailable, errorResponse } from "./errors";

/**
 * The one place an error becomes a response, for customer traffic and admin calls alike: an
 * ApiError says itself; a storage or Durable Object failure is 503 auth_unavailable (keygate fails
 * closed rather than guess); Hono's own refusals are said in keygate's vocabulary; anything else is
 * a bug, logged and shown as internal_error.
 */
export function onError(error: Error, c: Context): Response {
  return errorResponse(toApiError(error), (c.get("requestId") as string | undefined) ?? prefixedId("req"));
}

export function toApiError(error: unknown): ApiError {
  if (error instanceof ApiError) return error;
  if (error instanceof ConfigurationError) return new ApiError("configuration_error", error.message);
  if (error instanceof StorageError || error instanceof GuardUnavailable) {
    console.error(error.message, error.cause);
    return authUnavailable();
  }
  if (error instanceof HTTPException) return fromHonoRefusal(error);
  console.error("keygate: unexpected error", error);
  return new ApiError("internal_error", "keygate hit an unexpected error.");
}

/** Hono's own refusals, raised before keygate's validators see the body. */
function fromHonoRefusal(error: HTTPException): ApiError {
  switch (error.status) {
    case 400:
      return new ApiError("invalid_request", "The request body is not valid JSON.", { fields: [{ field: "body", message: error.message }] });
    case 415:
      return new ApiError("invalid_request", "The request body must be JSON (Content-Type: application/json).", {
        fields: [{ field: "content-type", message: "must be application/json" }],
      });
    default:
      console.error("keygate: unexpected HTTP exception", error);
      return new ApiError("internal_error", "keygate hit an unexpected error.");
  }
}
