import { say } from "../output";

/** After a full page: how to get the next one (standard error, so the table stays clean). */
export function moreHint(page: { has_more?: boolean; next_cursor?: string | null }): void {
  if (page.has_more && page.next_cursor) say(`More: repeat with --cursor ${page.next_cursor}`);
}
