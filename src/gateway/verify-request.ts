import { z } from "@hono/zod-openapi";
import { MAX_COST } from "../authority/plan";
import { Scopes } from "../authority/wire";
import { MAX_KEY_LENGTH } from "../keys/format";

/**
 * What a verification asks, over HTTP and RPC alike. Loaded only when a verification comes in, so
 * the gateway's isolates never build zod schemas on the proxy's path.
 */
export const VerifyRequest = z
  .strictObject({
    key: z
      .string()
      .min(1)
      .max(MAX_KEY_LENGTH)
      .openapi({ description: "The API key (or OAuth access token) to verify, as the caller sent it.", example: "kg_live_…" }),
    method: z
      .string()
      .regex(/^[A-Za-z]{1,32}$/, "must be an HTTP method such as GET")
      .optional()
      .openapi({ description: "The method of the request the key is used for (default GET); with `path`, ROUTE_SCOPES decide the scope it needs." }),
    path: z
      .string()
      .max(4096)
      .regex(/^\//, 'must start with "/"')
      .optional()
      .openapi({
        description:
          "The path of the request the key is used for, read as the proxy reads a request's URL: a query or fragment is cut (`/reports?format=csv` is `/reports`), " +
          "dot segments resolved. Without it no route rule applies, only `scopes`.",
        example: "/servers/1",
      }),
    scopes: Scopes.optional()
      .openapi({ description: "Scopes the key must hold, besides those the method and path need.", example: ["servers:delete"] }),
    cost: z
      .number()
      .int()
      .min(0)
      .max(MAX_COST)
      .optional()
      .openapi({
        description:
          "What the request costs in the key's credits and its tenant's quota (default: ROUTE_COSTS for `method` and `path`, else 1). " +
          "0 only checks: nothing is counted anywhere, not even in the key's windows.",
        example: 10,
      }),
  })
  .openapi("VerifyRequest");

export type VerifyRequestInput = z.output<typeof VerifyRequest>;
