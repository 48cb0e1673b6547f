import { z } from "@hono/zod-openapi";
import { ERROR_CODES } from "./errors";

/** The error envelope, its `code` an enum of the one error table (http/errors.ts). */
export const ErrorEnvelope = z
  .object({
    success: z.literal(false),
    error: z.object({
      code: z.enum(ERROR_CODES),
      message: z.string(),
      details: z.record(z.string(), z.unknown()).nullable(),
    }),
    requestId: z.string(),
  })
  .openapi("Error");
