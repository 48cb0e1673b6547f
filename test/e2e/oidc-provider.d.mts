import type { KeyLike } from "jose";

export const CLIENT_ID: string;
export const CLIENT_SECRET: string;

/** Who the provider signs in next. */
export interface ProviderPerson {
  email: string;
  emailVerified?: boolean;
  /** The provider's amr claim, e.g. ["pwd", "mfa"]; ["pwd"] unless given. */
  amr?: string[];
}

export interface LoopbackProvider {
  issuer: string;
  clientId: string;
  clientSecret: string;
  signInAs(who: ProviderPerson): void;
  tamperNextToken(change: (idToken: string) => Promise<string>): void;
  sign(claims: Record<string, unknown>, options?: { key?: KeyLike | CryptoKey; keyId?: string }): Promise<string>;
  close(): Promise<void>;
}

export function providerAddress(): Promise<{ port: number; issuer: string }>;
export function startProvider(options: { port: number; issuer: string; redirectUris: string[]; clientId?: string; clientSecret?: string }): Promise<LoopbackProvider>;
