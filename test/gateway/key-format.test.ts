import { describe, expect, it } from "vitest";
import { crc32 } from "../../src/keys/crc32";
import { displayForm, generateKey, MAX_KEY_LENGTH, parseKey } from "../../src/keys/format";
import { base62Fixed } from "../../src/keys/random";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A key of any body, with the checksum a real one would carry. */
function withChecksum(unchecked: string): string {
  return unchecked + base62Fixed(crc32(unchecked), 6);
}

describe("key format", () => {
  it("generates keys that parse back, in both environments and with any configured prefix", () => {
    for (const [prefix, environment] of [["kg", "live"], ["kg", "test"], ["acme42", "live"]] as const) {
      const key = generateKey(prefix, environment);
      expect(key).toMatch(new RegExp(`^${prefix}_${environment}_[0-9A-Za-z]{28}$`));
      expect(parseKey(key, prefix)).toEqual({ environment });
    }
  });

  it("uses the standard CRC-32 (IEEE) for the checksum", () => {
    // The check value every CRC-32 implementation publishes.
    expect(crc32("123456789")).toBe(0xcbf43926);
    const key = generateKey("kg", "live");
    expect(key.slice(-6)).toBe(base62Fixed(crc32(key.slice(0, -6)), 6));
  });

  it("refuses every single-character change anywhere in the key", () => {
    const key = generateKey("kg", "live");
    for (let i = 0; i < key.length; i++) {
      // Two substitutes per position, so a position whose substitute happens to be dropped still counts.
      for (const offset of [1, 31]) {
        const original = key[i]!;
        const pool = /[0-9A-Za-z]/.test(original) ? BASE62 : "-";
        const replacement = pool[(pool.indexOf(original) + offset) % pool.length] ?? "x";
        const changed = key.slice(0, i) + replacement + key.slice(i + 1);
        expect(changed).not.toBe(key);
        expect(parseKey(changed, "kg"), `changed position ${i}: ${changed}`).toBeNull();
      }
    }
  });

  it("refuses a live key relabelled as test (the checksum covers the environment)", () => {
    const key = generateKey("kg", "live");
    expect(parseKey(key.replace("_live_", "_test_"), "kg")).toBeNull();
  });

  it("refuses the wrong prefix, unknown environments, missing parts and foreign characters", () => {
    const ours = generateKey("kg", "live");
    const cases = [
      "",
      "kg",
      "kg_live_",
      generateKey("sk", "live"), // valid key of another deployment's prefix
      withChecksum("kg_prod_" + "A".repeat(22)),
      withChecksum("kg-live-" + "A".repeat(22)),
      withChecksum("kglive_" + "A".repeat(22)),
      withChecksum("kg_live_" + "A".repeat(21)).slice(0, -1), // too short
      withChecksum("kg_live_" + "A".repeat(20) + "-_"),
      withChecksum("kg_live_" + "A".repeat(20) + "é1"),
      ` ${ours}`,
      `${ours} `,
      ours.toUpperCase(),
    ];
    for (const candidate of cases) expect(parseKey(candidate, "kg"), candidate).toBeNull();
  });

  it(`accepts at most ${MAX_KEY_LENGTH} characters, even with a correct checksum`, () => {
    const head = "kg_live_";
    const atLimit = withChecksum(head + "A".repeat(MAX_KEY_LENGTH - head.length - 6));
    const overLimit = withChecksum(head + "A".repeat(MAX_KEY_LENGTH - head.length - 5));
    expect(atLimit).toHaveLength(MAX_KEY_LENGTH);
    expect(overLimit).toHaveLength(MAX_KEY_LENGTH + 1);
    expect(parseKey(atLimit, "kg")).toEqual({ environment: "live" });
    expect(parseKey(overLimit, "kg")).toBeNull();
    expect(parseKey(withChecksum(head + "A".repeat(10_000)), "kg")).toBeNull();
  });

  it("carries at least 128 bits of randomness in the body, drawn from all of base62", () => {
    const bodies = Array.from({ length: 2000 }, () => generateKey("kg", "live").slice("kg_live_".length, -6));
    for (const body of bodies) expect(body.length * Math.log2(62)).toBeGreaterThanOrEqual(128);
    expect(new Set(bodies).size).toBe(bodies.length);
    const seen = new Set(bodies.join(""));
    expect([...BASE62].filter((ch) => !seen.has(ch))).toEqual([]);
    // Every position varies: no fixed or near-fixed character hides in the body.
    for (let i = 0; i < bodies[0]!.length; i++) {
      expect(new Set(bodies.map((b) => b[i])).size, `position ${i}`).toBeGreaterThan(50);
    }
  });

  it("shows keys as prefix, environment, four characters, an ellipsis and the last four", () => {
    const key = generateKey("kg", "live");
    const shown = displayForm(key, "kg");
    expect(shown).toBe(`${key.slice(0, 12)}…${key.slice(-4)}`);
    expect(shown).toMatch(/^kg_live_[0-9A-Za-z]{4}…[0-9A-Za-z]{4}$/);
    // Not enough of the key to use it, nor to narrow it down much.
    expect(shown.length).toBeLessThan(key.length / 2 + 4);
    expect(displayForm(generateKey("acme42", "test"), "acme42")).toMatch(/^acme42_test_[0-9A-Za-z]{4}…[0-9A-Za-z]{4}$/);
  });
});
