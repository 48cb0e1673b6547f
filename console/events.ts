import { api, query } from "./api";
import { h } from "./dom";
import { carrier, outcome, time } from "./format";
import { empty, table, type Page } from "./layout";

/** One decision about one request, as GET /keys/{id}/events gives it. */
interface KeyEvent {
  id: string; at: string; code: string; status: number; method: string | null; path: string | null;
  ip: string | null; country: string | null; user_agent: string | null; request_id: string | null; carrier: string | null;
}

/** A request's outcome in words, its HTTP status beside it, coloured as admitted or refused. */
function result(event: KeyEvent): HTMLElement {
  return h("span", { class: `outcome ${event.code === "valid" ? "ok" : "refused"}` }, outcome(event.code), h("span", { class: "muted" }, ` ${event.status}`));
}

/** A key's latest verifications, newest first, in columns a person reads without a legend. */
export async function eventsSection(keyId: string): Promise<Node> {
  const events = await api<Page<KeyEvent>>("GET", `/keys/${keyId}/events${query({ limit: 20 })}`);
  if (!events.data.length) return empty("No requests with this key yet.", "Each request with it is listed here, admitted or refused.");
  const rows = events.data.map((event) => [
    time(event.at),
    result(event),
    event.method || event.path ? h("code", { class: "wrap" }, [event.method, event.path].filter(Boolean).join(" ")) : "—",
    event.ip ? `${event.ip}${event.country ? ` (${event.country})` : ""}` : (event.country ?? "—"),
    carrier(event.carrier),
    event.user_agent ? h("span", { class: "wrap" }, event.user_agent) : "—",
    event.request_id ? h("code", {}, event.request_id) : "—",
  ]);
  return table(["Time", "Result", "Request", "Client", "Sent as", "User agent", "Request id"], rows, "Recent verifications, newest first", "events");
}
