/**
 * A software WebAuthn authenticator for the workerd suite: it answers keygate's registration and
 * authentication options as a security key would (ES256, "none" attestation, a signature counter),
 * so the server's checks run on real signatures. The browser journeys use Chromium's own virtual
 * authenticator instead (test/e2e).
 */
import { fromBase64Url, toBase64Url } from "../../src/keys/base64url";

const encoder = new TextEncoder();

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** The little CBOR (RFC 8949) a credential needs: maps, integers, byte and text strings. */
type Cbor = number | string | Uint8Array | Map<Cbor, Cbor>;
function head(major: number, value: number): Uint8Array {
  if (value < 24) return Uint8Array.of((major << 5) | value);
  if (value < 256) return Uint8Array.of((major << 5) | 24, value);
  return Uint8Array.of((major << 5) | 25, value >> 8, value & 255);
}
function cbor(value: Cbor): Uint8Array {
  if (typeof value === "number") return value >= 0 ? head(0, value) : head(1, -1 - value);
  if (typeof value === "string") {
    const bytes = encoder.encode(value);
    return concat(head(3, bytes.length), bytes);
  }
  if (value instanceof Uint8Array) return concat(head(2, value.length), value);
  return concat(head(5, value.size), ...[...value].flatMap(([k, v]) => [cbor(k), cbor(v)]));
}

/** WebCrypto signs ECDSA as r||s; WebAuthn wants ASN.1 DER. */
function derSignature(raw: Uint8Array): Uint8Array {
  const integer = (bytes: Uint8Array) => {
    let i = 0;
    while (i < bytes.length - 1 && bytes[i] === 0) i++;
    const trimmed = bytes.slice(i);
    const body = trimmed[0]! & 0x80 ? concat(Uint8Array.of(0), trimmed) : trimmed;
    return concat(Uint8Array.of(0x02, body.length), body);
  };
  const seq = concat(integer(raw.slice(0, 32)), integer(raw.slice(32)));
  return concat(Uint8Array.of(0x30, seq.length), seq);
}

const sha256 = async (data: Uint8Array) => new Uint8Array(await crypto.subtle.digest("SHA-256", data));

export interface SoftCredential {
  id: string;
  keys: CryptoKeyPair;
  rpId: string;
  counter: number;
}

export class SoftAuthenticator {
  readonly credentials: SoftCredential[] = [];

  constructor(private readonly origin: string) {}

  private clientData(type: string, challenge: string, origin = this.origin): Uint8Array {
    return encoder.encode(JSON.stringify({ type, challenge, origin, crossOrigin: false }));
  }

  /** navigator.credentials.create(): a new credential for the options' relying party. */
  async create(options: any, overrides: { origin?: string; rpId?: string } = {}) {
    const rpId = overrides.rpId ?? options.rp.id;
    const keys = (await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"])) as CryptoKeyPair;
    const jwk = (await crypto.subtle.exportKey("jwk", keys.publicKey)) as JsonWebKey;
    const cose = new Map<Cbor, Cbor>([
      [1, 2],
      [3, -7],
      [-1, 1],
      [-2, fromBase64Url(jwk.x!)],
      [-3, fromBase64Url(jwk.y!)],
    ]);
    const idBytes = crypto.getRandomValues(new Uint8Array(16));
    const credential: SoftCredential = { id: toBase64Url(idBytes), keys, rpId, counter: 0 };
    const authData = concat(
      await sha256(encoder.encode(rpId)),
      Uint8Array.of(0x45), // user present, user verified, attested credential data
      Uint8Array.of(0, 0, 0, 0),
      new Uint8Array(16), // aaguid
      Uint8Array.of(idBytes.length >> 8, idBytes.length & 255),
      idBytes,
      cbor(cose),
    );
    const attestationObject = cbor(new Map<Cbor, Cbor>([["fmt", "none"], ["attStmt", new Map()], ["authData", authData]]));
    this.credentials.push(credential);
    return {
      id: credential.id,
      rawId: credential.id,
      type: "public-key",
      response: { clientDataJSON: toBase64Url(this.clientData("webauthn.create", options.challenge, overrides.origin)), attestationObject: toBase64Url(attestationObject), transports: ["usb"] },
      clientExtensionResults: {},
    };
  }

  /** navigator.credentials.get(): a signature by `credential` (the first one by default) over the options' challenge. */
  async get(options: any, credential = this.credentials[0]!, overrides: { origin?: string; counter?: number } = {}) {
    credential.counter = overrides.counter ?? credential.counter + 1;
    const counter = credential.counter;
    const authData = concat(
      await sha256(encoder.encode(credential.rpId)),
      Uint8Array.of(0x05), // user present, user verified
      Uint8Array.of(counter >>> 24, (counter >> 16) & 255, (counter >> 8) & 255, counter & 255),
    );
    const clientDataJSON = this.clientData("webauthn.get", options.challenge, overrides.origin);
    const signed = concat(authData, await sha256(clientDataJSON));
    const raw = new Uint8Array(await crypto.subtle.sign({ name: "ECDSA", hash: "SHA-256" }, credential.keys.privateKey, signed));
    return {
      id: credential.id,
      rawId: credential.id,
      type: "public-key",
      response: { clientDataJSON: toBase64Url(clientDataJSON), authenticatorData: toBase64Url(authData), signature: toBase64Url(derSignature(raw)) },
      clientExtensionResults: {},
    };
  }
}
