import { describe, expect, it } from "vitest";
import { fromBase64Url, s256Challenge, toBase64Url } from "../../src/keys/base64url";

describe("base64url", () => {
  it("spells every byte value without padding and reads it back, padded or not", () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    const text = toBase64Url(bytes);
    expect(text).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(fromBase64Url(text)).toEqual(bytes);
    expect(toBase64Url(Uint8Array.of(0xfb, 0xff))).toBe("-_8");
    expect(fromBase64Url("-_8=")).toEqual(Uint8Array.of(0xfb, 0xff));
    expect(() => fromBase64Url("not base64url!")).toThrow();
  });

  it("makes RFC 7636's own S256 challenge (Appendix B)", async () => {
    expect(await s256Challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")).toBe("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
  });
});
