import { ApiRefusal, UnreachableError, UsageError } from "./errors";

export const DEFAULT_URL = "http://127.0.0.1:8787";
const API_PREFIX = "/_keygate/v1";
/** Long enough for a tenant's status to fan out to 500 keys, short enough that a dead host fails soon. */
const TIMEOUT_MS = 10_000;

export interface ApiResponse {
  status: number;
  /** The body exactly as keygate sent it: what --json prints. */
  text: string;
  /** The body parsed; null for 204. */
  body: any;
}

export interface CallOptions {
  body?: unknown;
  query?: Record<string, string | number | undefined>;
}

/** The URL keygate is reached at, without a trailing slash; not http(s) is a usage error. */
export function normalizeUrl(raw: string): string {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new UsageError(`--url ${raw} is not a URL (expected e.g. ${DEFAULT_URL}).`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") throw new UsageError(`--url ${raw} must be http:// or https://.`);
  if (url.search || url.hash) throw new UsageError(`--url ${raw} must not have a query or fragment.`);
  return `${url.origin}${url.pathname.replace(/\/+$/, "")}`;
}

/**
 * The admin API over fetch. Every outcome becomes one of three things: the response (2xx), an
 * ApiRefusal carrying keygate's error envelope (exit 1), or an UnreachableError (exit 3) when
 * nothing answered or what answered was not keygate.
 */
export class AdminClient {
  constructor(
    readonly url: string,
    private readonly token: string | null,
    /** Appended to an invalid_token refusal: what the user can do about it. */
    private readonly invalidTokenHint?: string,
  ) {}

  get(path: string, query?: CallOptions["query"]): Promise<ApiResponse> {
    return this.call("GET", path, { query });
  }

  post(path: string, body?: unknown): Promise<ApiResponse> {
    return this.call("POST", path, { body });
  }

  patch(path: string, body: unknown): Promise<ApiResponse> {
    return this.call("PATCH", path, { body });
  }

  delete(path: string): Promise<ApiResponse> {
    return this.call("DELETE", path, {});
  }

  async call(method: string, path: string, { body, query }: CallOptions): Promise<ApiResponse> {
    const target = new URL(`${this.url}${API_PREFIX}${path}`);
    for (const [name, value] of Object.entries(query ?? {})) {
      if (value !== undefined) target.searchParams.set(name, String(value));
    }
    // keygate shows an admin's sessions by device: this one reads "keygate CLI".
    const headers: Record<string, string> = { accept: "application/json", "user-agent": `keygate-cli/${typeof KEYGATE_VERSION === "string" ? KEYGATE_VERSION : "dev"}` };
    if (this.token !== null) headers.authorization = `Bearer ${this.token}`;
    if (body !== undefined) headers["content-type"] = "application/json";

    let response: Response;
    let text: string;
    try {
      response = await fetch(target, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(TIMEOUT_MS),
      });
      // Byte for byte: a CSV keeps the byte order mark a spreadsheet reads its encoding by.
      text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(await response.arrayBuffer());
    } catch (error) {
      throw new UnreachableError(this.url, networkReason(error));
    }

    if (response.status === 204) return { status: 204, text: "", body: null };
    // A file (the billing export's CSV) is handed over as it came.
    if (response.ok && response.headers.get("content-type")?.startsWith("text/csv")) return { status: response.status, text, body: null };
    const parsed = parseJson(text);
    if (response.ok && parsed !== undefined) return { status: response.status, text, body: parsed };

    const envelope = parsed as { success?: unknown; error?: { code?: unknown; message?: unknown; details?: unknown }; requestId?: unknown } | undefined;
    if (envelope?.success === false && typeof envelope.error?.code === "string" && typeof envelope.error.message === "string") {
      const code = envelope.error.code;
      throw new ApiRefusal(
        response.status,
        code,
        envelope.error.message,
        typeof envelope.requestId === "string" ? envelope.requestId : response.headers.get("x-request-id"),
        (envelope.error.details as Record<string, unknown> | null) ?? null,
        code === "invalid_token" ? this.invalidTokenHint : code === "reauthentication_required" ? REAUTHENTICATION_HINT : undefined,
      );
    }
    // Something answered, but not keygate's API: a wrong --url, a proxy's error page.
    const type = response.headers.get("content-type")?.split(";")[0] ?? "no content type";
    throw new UnreachableError(this.url, `it answered HTTP ${response.status} (${type}), not keygate's admin API; is --url right?`);
  }
}

declare const KEYGATE_VERSION: string;

/** A sensitive action after the 5 minutes a sign-in counts for. */
const REAUTHENTICATION_HINT = "A new sign-in counts as a confirmation: run `keygate login` again, then repeat this within 5 minutes.";

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** What went wrong on the way, in a few words: Node's fetch wraps the cause in "fetch failed". */
function networkReason(error: unknown): string {
  if (error instanceof DOMException && error.name === "TimeoutError") return `no answer within ${TIMEOUT_MS / 1000} s`;
  const cause = (error as { cause?: unknown })?.cause;
  const code = causeCode(cause);
  switch (code) {
    case "ECONNREFUSED":
      return "connection refused";
    case "ENOTFOUND":
      return "no such host";
    case "EAI_AGAIN":
      return "the host name could not be looked up";
    case "ECONNRESET":
      return "the connection was reset";
    case "ETIMEDOUT":
    case "UND_ERR_CONNECT_TIMEOUT":
      return "the connection timed out";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
      return "no route to the host";
  }
  const message = cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
  return code ? `${message} (${code})` : message;
}

/** A connection to "localhost" tries every address, and Node reports an AggregateError of them. */
function causeCode(cause: unknown): string | undefined {
  const code = (cause as { code?: unknown })?.code;
  if (typeof code === "string") return code;
  if (cause instanceof AggregateError) return causeCode(cause.errors[0]);
  return undefined;
}
