/**
 * Method overrides: Laravel, Symfony, Rails (Rack::MethodOverride) and Express's method-override
 * run `POST /servers/1` carrying `X-HTTP-Method-Override: DELETE` (or `_method=DELETE` in the query
 * or a form body) as a DELETE. keygate forwards such a request as sent, so it requires the scopes
 * of every method the request could be executed as: its own and each one an override names.
 *
 * Headers and the query cost nothing to read. A body is read only where it could change the
 * answer (overrides.ts's caller asks first whether every method would need the same scopes), only
 * if it is of a type frameworks turn into parameters (form, multipart, JSON), and only up to
 * MAX_READ_BODY_BYTES; a body keygate cannot read (larger, compressed, in another charset,
 * malformed) needs the scopes of every method.
 */

import { OVERRIDE_HEADERS } from "../http/method-overrides";

/** `_method`, also as PHP's array `_method[]`, compared without regard to case. */
const OVERRIDE_FIELD = /^_method(\[.*\])?$/i;

/** Form and JSON bodies up to this size are read for `_method`; larger ones need every method's scopes. */
export const MAX_READ_BODY_BYTES = 1024 * 1024;

/** The request's own method and every method its headers and query ask for, upper-cased. */
export function declaredMethods(method: string, headers: Headers, search: string): string[] {
  const methods = [method.toUpperCase()];
  for (const name of OVERRIDE_HEADERS) {
    const value = headers.get(name);
    if (value !== null) methods.push(...methodList(value));
  }
  // A name can be %-escaped (`%5Fmethod`), so any escape is read too.
  if (search.length > 1 && /method|%/i.test(search)) {
    for (const [name, value] of new URLSearchParams(search)) {
      if (OVERRIDE_FIELD.test(name)) methods.push(...methodList(value));
    }
  }
  return [...new Set(methods)];
}

function methodList(value: string): string[] {
  return value
    .split(",")
    .map((method) => method.trim().toUpperCase())
    .filter(Boolean);
}

type BodyKind = "form" | "multipart" | "json";

/**
 * How frameworks would parse this body into parameters: null when none would (no body, or a type
 * they leave alone), "unreadable" when they would but keygate cannot read it the same way.
 */
export function bodyKind(request: Request): BodyKind | "unreadable" | null {
  if (request.body === null) return null;
  const contentType = request.headers.get("content-type");
  if (!contentType) return null;
  // Several Content-Type headers arrive joined by ", ": a parser may pick any of them.
  const kinds = new Set<BodyKind>();
  let foreignCharset = false;
  for (const type of contentType.split(",")) {
    const [essence = "", ...params] = type.split(";").map((part) => part.trim().toLowerCase());
    const kind = kindOf(essence);
    if (!kind) continue;
    kinds.add(kind);
    const charset = params.find((param) => param.startsWith("charset="))?.slice(8).replace(/"/g, "");
    if (charset && charset !== "utf-8" && charset !== "utf8" && charset !== "us-ascii") foreignCharset = true;
  }
  if (kinds.size === 0) return null;
  const encoding = request.headers.get("content-encoding")?.trim().toLowerCase();
  if (kinds.size > 1 || foreignCharset || (encoding && encoding !== "identity")) return "unreadable";
  return [...kinds][0]!;
}

function kindOf(essence: string): BodyKind | null {
  if (essence === "application/x-www-form-urlencoded") return "form";
  if (essence === "multipart/form-data") return "multipart";
  if (essence === "application/json" || /^[a-z0-9!#$&^_.+-]+\/[a-z0-9!#$&^_.+-]+\+json$/.test(essence)) return "json";
  return null;
}

export interface BodyReading {
  /** The methods `_method` names, or null: unreadable, so every method is possible. */
  methods: string[] | null;
  /** The body to forward: the bytes read, or a stream that replays them and then the rest. */
  body: ReadableStream<Uint8Array> | Uint8Array;
}

/** Reads up to MAX_READ_BODY_BYTES of a body of `kind` for `_method`, keeping it for the origin. */
export async function readBodyOverrides(request: Request, kind: BodyKind | "unreadable"): Promise<BodyReading> {
  const stream = request.body!;
  const declaredLength = Number(request.headers.get("content-length") ?? NaN);
  if (kind === "unreadable" || declaredLength > MAX_READ_BODY_BYTES) return { methods: null, body: stream };
  const reader = stream.getReader();
  const chunks: Uint8Array[] = [];
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.byteLength;
    if (length > MAX_READ_BODY_BYTES) return { methods: null, body: replay(chunks, reader) };
  }
  const bytes = concat(chunks, length);
  return { methods: await overridesIn(bytes, kind, request.headers.get("content-type")!), body: bytes };
}

async function overridesIn(bytes: Uint8Array, kind: BodyKind, contentType: string): Promise<string[] | null> {
  try {
    const text = () => new TextDecoder("utf-8", { fatal: true, ignoreBOM: false }).decode(bytes);
    const found: string[] = [];
    if (kind === "form") {
      for (const [name, value] of new URLSearchParams(text())) if (OVERRIDE_FIELD.test(name)) found.push(...methodList(value));
    } else if (kind === "multipart") {
      const form = await new Response(bytes, { headers: { "content-type": contentType } }).formData();
      for (const [name, value] of form) {
        if (!OVERRIDE_FIELD.test(name)) continue;
        if (typeof value !== "string") return null;
        found.push(...methodList(value));
      }
    } else {
      const parsed: unknown = JSON.parse(text());
      if (parsed === null || typeof parsed !== "object" || Array.isArray(parsed)) return [];
      for (const [name, value] of Object.entries(parsed)) {
        if (!OVERRIDE_FIELD.test(name)) continue;
        const values = Array.isArray(value) ? value : [value];
        if (!values.every((v): v is string => typeof v === "string")) return null;
        for (const v of values) found.push(...methodList(v));
      }
    }
    return found;
  } catch {
    // Not valid UTF-8, multipart or JSON: a more lenient parser at the origin might still find one.
    return null;
  }
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    out.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return out;
}

/** The chunks already read, then whatever is left: the origin gets the body whole and still streamed. */
function replay(chunks: Uint8Array[], rest: ReadableStreamDefaultReader<Uint8Array>): ReadableStream<Uint8Array> {
  const pending = [...chunks];
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = pending.shift();
      if (next) return controller.enqueue(next);
      const { done, value } = await rest.read();
      if (done) controller.close();
      else controller.enqueue(value);
    },
    cancel(reason) {
      return rest.cancel(reason);
    },
  });
}
