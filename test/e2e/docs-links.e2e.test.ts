import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";

// Every relative link in the docs leads somewhere: to a file or folder that exists and, with a
// #fragment, to a heading of that file as GitHub names it. A reader who follows a link from the
// README never lands on a 404 or on the top of the wrong page.

const ROOT = resolve(import.meta.dirname, "../..");

/** The documents a reader follows links through. */
function documents(root: string): string[] {
  const inDocs = (dir: string): string[] =>
    readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory() ? inDocs(join(dir, entry.name)) : entry.name.endsWith(".md") ? [join(dir, entry.name)] : [],
    );
  const bench = readdirSync(join(root, "bench")).filter((name) => name.endsWith(".md")).map((name) => join("bench", name));
  return ["README.md", "DEVELOPERS.md", ...inDocs("docs"), ...bench];
}

/** A heading's anchor as GitHub makes it: its text lower-cased, punctuation and symbols dropped, spaces as hyphens. */
function slug(heading: string): string {
  const text = heading
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1") // a link's text
    .replace(/<[^>]+>/g, "") // inline HTML
    .replace(/[`*]/g, ""); // code and emphasis marks
  return text.toLowerCase().replace(/[^\p{L}\p{M}\p{Nd}\p{Pc} -]/gu, "").replace(/ /g, "-");
}

/** The lines of a Markdown file that are not inside a fenced code block. */
function linesOutsideFences(markdown: string): string[] {
  let fence: string | null = null;
  const lines: string[] = [];
  for (const line of markdown.split("\n")) {
    const marker = /^\s*(`{3,}|~{3,})/.exec(line)?.[1];
    if (marker && (fence === null || marker.startsWith(fence))) fence = fence === null ? marker : null;
    else if (fence === null) lines.push(line);
  }
  return lines;
}

/** A line with its code spans blanked: a link written as code is no link. */
const blankCodeSpans = (line: string) => line.replace(/(`+)[^`]*?\1/g, (span) => " ".repeat(span.length));

/** Every anchor a file's headings get, duplicates numbered as GitHub numbers them (x, x-1, x-2). */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  for (const line of linesOutsideFences(markdown)) {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line)?.[1];
    if (heading === undefined) continue;
    const base = slug(heading);
    let anchor = base;
    while (seen.has(anchor)) {
      const count = seen.get(base)! + 1;
      seen.set(base, count);
      anchor = `${base}-${count}`;
    }
    seen.set(anchor, 0);
  }
  return new Set(seen.keys());
}

/** Relative link targets in a Markdown file: inline links, images and reference definitions. */
function linkTargets(markdown: string): string[] {
  const targets: string[] = [];
  for (const line of linesOutsideFences(markdown).map(blankCodeSpans)) {
    for (const match of line.matchAll(/!?\[(?:[^[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) targets.push(match[1]!);
    const definition = /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/.exec(line);
    if (definition) targets.push(definition[1]!);
  }
  return targets.filter((target) => !/^[a-z][a-z0-9+.-]*:/i.test(target) && !target.startsWith("//"));
}

/** "file: link (why)" for every link in `files` (relative to `root`) that leads nowhere. */
function brokenLinks(root: string, files: string[]): string[] {
  const broken: string[] = [];
  const anchorsOf = new Map<string, Set<string>>();
  const anchorsIn = (path: string) => {
    if (!anchorsOf.has(path)) anchorsOf.set(path, anchors(readFileSync(path, "utf8")));
    return anchorsOf.get(path)!;
  };
  for (const file of files) {
    const path = join(root, file);
    for (const target of linkTargets(readFileSync(path, "utf8"))) {
      const [pathPart = "", fragment] = target.split("#", 2) as [string, string | undefined];
      const linked = pathPart === "" ? path : resolve(dirname(path), decodeURIComponent(pathPart));
      if (!existsSync(linked)) {
        broken.push(`${file}: ${target} (no such file: ${relative(root, linked)})`);
      } else if (fragment !== undefined && linked.endsWith(".md") && !anchorsIn(linked).has(decodeURIComponent(fragment))) {
        broken.push(`${file}: ${target} (no heading #${fragment} in ${relative(root, linked)})`);
      } else if (fragment !== undefined && statSync(linked).isDirectory()) {
        broken.push(`${file}: ${target} (a folder has no headings)`);
      }
    }
  }
  return broken;
}

describe("links in the docs", () => {
  it("covers the README, DEVELOPERS.md, every page under docs/ and the benchmark's notes", () => {
    const files = documents(ROOT);
    expect(files).toEqual(expect.arrayContaining(["README.md", "DEVELOPERS.md", join("docs", "configuration.md"), join("bench", "README.md")]));
    // Each page is reachable from the README.
    const fromReadme = linkTargets(readFileSync(join(ROOT, "README.md"), "utf8")).map((target) => target.split("#")[0]);
    for (const page of files.filter((file) => file.startsWith("docs"))) expect(fromReadme, page).toContain(page);
  });

  it("every relative link leads to an existing file and, with a #fragment, to one of its headings", () => {
    expect(brokenLinks(ROOT, documents(ROOT))).toEqual([]);
  });

  describe("the check itself", () => {
    const dir = mkdtempSync(join(tmpdir(), "keygate-docs-links-"));
    afterAll(() => rmSync(dir, { recursive: true, force: true }));

    it("names a missing file, a missing heading and a fragment on a folder, and follows GitHub's anchors", () => {
      writeFileSync(
        join(dir, "guide.md"),
        [
          "# The guide",
          "## Rate limits: `x-ratelimit-*` & `Retry-After` (per key)",
          "## Setup",
          "## Setup",
          "```sh",
          "# not a heading [nor a link](gone.md)",
          "```",
          "[ok](#the-guide) [ok](#rate-limits-x-ratelimit---retry-after-per-key) [ok](#setup-1) [ok](other.md#whats-new) [ok](./)",
          "`[in code](gone.md)` [web](https://example.com/x) [mail](mailto:a@example.com)",
          "[missing file](gone.md) [missing heading](other.md#nothing-here) [own heading](#setup-2) [folder](./#top)",
        ].join("\n"),
      );
      writeFileSync(join(dir, "other.md"), "# What's new\n");
      expect(brokenLinks(dir, ["guide.md"])).toEqual([
        "guide.md: gone.md (no such file: gone.md)",
        "guide.md: other.md#nothing-here (no heading #nothing-here in other.md)",
        "guide.md: #setup-2 (no heading #setup-2 in guide.md)",
        "guide.md: ./#top (a folder has no headings)",
      ]);
    });
  });
});
