import {
  generateAuthenticationOptions,
  generateRegistrationOptions,
  verifyAuthenticationResponse,
  verifyRegistrationResponse,
  type AuthenticationResponseJSON,
  type AuthenticatorTransportFuture,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from "@simplewebauthn/server";
import { fromBase64Url, toBase64Url } from "../keys/base64url";
import { hashKey } from "../keys/hash";
import type { Services } from "../services";
import type { AdminRow } from "../store/admin-repo";
import { storeChallenge, takeChallenge } from "../store/challenge-repo";
import { getPasskey, passkeysOf, recordPasskeyUse, type PasskeyRow } from "../store/factor-repo";

/**
 * Passkeys (WebAuthn) on keygate's own origin: the relying party is the host the admin API is
 * served on, so a passkey made for keygate works nowhere else and no other site can ask for it.
 * Every ceremony's challenge is random, single-use and lives CHALLENGE_TTL_MS (auth_challenges,
 * found by the challenge's hash, which the browser returns inside clientDataJSON). Signature
 * counters must grow where an authenticator keeps one (a cloned key shows an old counter).
 */
export const CHALLENGE_TTL_MS = 5 * 60_000;
const RP_NAME = "keygate";

/** keygate's origin as the browser sees it, and its host as the relying party id. */
export interface RelyingParty {
  id: string;
  origin: string;
}

export function relyingParty(url: string): RelyingParty {
  const { hostname, origin } = new URL(url);
  return { id: hostname, origin };
}

/** Why an authentication ceremony is run: a sign-in without password, a second factor, a step-up. */
export type PasskeyPurpose = "register" | "signin" | "mfa" | "step_up";

interface ChallengeData {
  purpose: PasskeyPurpose;
}

async function storePasskeyChallenge(services: Services, challenge: string, adminId: string | null, purpose: PasskeyPurpose): Promise<void> {
  const now = services.clock.now();
  const data: ChallengeData = { purpose };
  await storeChallenge(services.db, { id: await hashKey(challenge), kind: "passkey", admin_id: adminId, data: JSON.stringify(data), expires_at: now + CHALLENGE_TTL_MS }, now);
}

/** The challenge a browser signed, read from its clientDataJSON; null when there is none. */
function signedChallenge(response: { response?: { clientDataJSON?: unknown } }): string | null {
  try {
    const text = new TextDecoder().decode(fromBase64Url(String(response.response?.clientDataJSON)));
    const challenge = (JSON.parse(text) as { challenge?: unknown }).challenge;
    return typeof challenge === "string" && challenge.length > 0 ? challenge : null;
  } catch {
    return null;
  }
}

/** Spends the challenge `response` answers, if it was issued for `purpose` (and `adminId`, when given). */
async function takeOwnChallenge(services: Services, response: { response?: { clientDataJSON?: unknown } }, purpose: PasskeyPurpose, adminId: string | null): Promise<string | null> {
  const challenge = signedChallenge(response);
  if (challenge === null) return null;
  const row = await takeChallenge(services.db, await hashKey(challenge), "passkey", services.clock.now());
  if (!row || (JSON.parse(row.data) as ChallengeData).purpose !== purpose) return null;
  if (adminId !== null && row.admin_id !== adminId) return null;
  return challenge;
}

function transportsOf(row: PasskeyRow): AuthenticatorTransportFuture[] | undefined {
  return row.transports ? (JSON.parse(row.transports) as AuthenticatorTransportFuture[]) : undefined;
}

/** Options for the browser's navigator.credentials.create(): a discoverable passkey that verifies its user. */
export async function registrationOptions(services: Services, admin: AdminRow, rp: RelyingParty): Promise<PublicKeyCredentialCreationOptionsJSON> {
  const existing = await passkeysOf(services.db, admin.id);
  const options = await generateRegistrationOptions({
    rpName: RP_NAME,
    rpID: rp.id,
    userName: admin.email,
    userID: Uint8Array.from(new TextEncoder().encode(admin.id)),
    attestationType: "none",
    excludeCredentials: existing.map((row) => ({ id: row.id, transports: transportsOf(row) })),
    authenticatorSelection: { residentKey: "required", userVerification: "required" },
    timeout: CHALLENGE_TTL_MS,
  });
  await storePasskeyChallenge(services, options.challenge, admin.id, "register");
  return options;
}

/**
 * The passkey `response` registers for `admin`, checked against a challenge issued to that admin
 * for registration on this origin; null, with the reason, when it does not hold.
 */
export async function verifyRegistration(
  services: Services,
  admin: AdminRow,
  response: RegistrationResponseJSON,
  name: string,
  rp: RelyingParty,
): Promise<{ passkey: PasskeyRow } | { refused: string }> {
  const challenge = await takeOwnChallenge(services, response, "register", admin.id);
  if (challenge === null) return { refused: "its challenge is unknown, used or expired: start again" };
  try {
    const result = await verifyRegistrationResponse({ response, expectedChallenge: challenge, expectedOrigin: rp.origin, expectedRPID: rp.id, requireUserVerification: true });
    if (!result.verified) return { refused: "the authenticator's answer does not verify" };
    const { credential } = result.registrationInfo;
    const now = services.clock.now();
    return {
      passkey: {
        id: credential.id,
        admin_id: admin.id,
        public_key: toBase64Url(credential.publicKey),
        counter: credential.counter,
        transports: credential.transports ? JSON.stringify(credential.transports) : null,
        name,
        created_at: now,
        last_used_at: null,
      },
    };
  } catch (error) {
    return { refused: error instanceof Error ? error.message : "the authenticator's answer does not verify" };
  }
}

/**
 * Options for navigator.credentials.get(). With an admin, only their passkeys are offered (a second
 * factor, a step-up); without, any passkey of this origin (a sign-in, which then must verify its
 * user: a passkey with a PIN or biometric is two factors in one).
 */
export async function authenticationOptions(
  services: Services,
  admin: AdminRow | null,
  rp: RelyingParty,
  purpose: Exclude<PasskeyPurpose, "register">,
): Promise<PublicKeyCredentialRequestOptionsJSON> {
  const allow = admin ? await passkeysOf(services.db, admin.id) : [];
  const options = await generateAuthenticationOptions({
    rpID: rp.id,
    allowCredentials: allow.map((row) => ({ id: row.id, transports: transportsOf(row) })),
    userVerification: purpose === "signin" ? "required" : "preferred",
    timeout: CHALLENGE_TTL_MS,
  });
  await storePasskeyChallenge(services, options.challenge, admin?.id ?? null, purpose);
  return options;
}

/** The passkey an authentication response names, for the caller to find its admin before checking it. */
export function passkeyNamed(services: Services, response: AuthenticationResponseJSON): Promise<PasskeyRow | null> {
  return typeof response.id === "string" && response.id.length > 0 ? getPasskey(services.db, response.id) : Promise.resolve(null);
}

/**
 * Whether `response` is `passkey`'s signature over a challenge issued for `purpose` (to the
 * passkey's admin, unless it was a sign-in), on this origin, with a counter that moved on. The
 * challenge is spent whatever the answer; the new counter is stored.
 */
export async function verifyPasskey(
  services: Services,
  passkey: PasskeyRow,
  response: AuthenticationResponseJSON,
  rp: RelyingParty,
  purpose: Exclude<PasskeyPurpose, "register">,
): Promise<boolean> {
  const challenge = await takeOwnChallenge(services, response, purpose, purpose === "signin" ? null : passkey.admin_id);
  if (challenge === null) return false;
  try {
    const result = await verifyAuthenticationResponse({
      response,
      expectedChallenge: challenge,
      expectedOrigin: rp.origin,
      expectedRPID: rp.id,
      credential: { id: passkey.id, publicKey: fromBase64Url(passkey.public_key), counter: passkey.counter, transports: transportsOf(passkey) },
      requireUserVerification: purpose === "signin",
    });
    if (!result.verified) return false;
    return recordPasskeyUse(services.db, passkey, result.authenticationInfo.newCounter, services.clock.now());
  } catch {
    return false;
  }
}
