import { OAuthError } from "../http/errors";

/** An OAuth request's parameters, each present at most once (RFC 6749 §3.1). */
export interface OAuthParams {
  /** The value, or null when absent; an empty value is absent too (RFC 6749 §3.1). */
  get(name: string): string | null;
}

/** The parameters of a query or a form body; a parameter given twice is refused. */
export function singleParams(search: URLSearchParams): OAuthParams {
  const seen = new Map<string, string>();
  for (const [name, value] of search) {
    if (seen.has(name)) throw new OAuthError("invalid_request", `The parameter ${name} is given more than once.`);
    seen.set(name, value);
  }
  return { get: (name) => (seen.get(name) || null) };
}

/** The form body of a token or revocation request (application/x-www-form-urlencoded, RFC 6749 §4.1.3). */
export async function formParams(request: Request): Promise<OAuthParams> {
  const type = request.headers.get("content-type")?.split(";")[0]?.trim().toLowerCase();
  if (type !== "application/x-www-form-urlencoded") {
    throw new OAuthError("invalid_request", "The request body must be application/x-www-form-urlencoded.");
  }
  return singleParams(new URLSearchParams(new TextDecoder().decode(await request.arrayBuffer())));
}

/** A required parameter, or invalid_request naming it. */
export function required(params: OAuthParams, name: string): string {
  const value = params.get(name);
  if (value === null) throw new OAuthError("invalid_request", `The parameter ${name} is required.`);
  return value;
}
