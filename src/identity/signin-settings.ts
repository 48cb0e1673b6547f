import { readSettings, writeSetting } from "../store/settings-repo";

/**
 * How admins may sign in, as an owner set it through the API (stored, audited, changed with a
 * step-up; admin/signin-settings.ts). Settings rather than bindings: turning password sign-in off
 * or requiring a second factor is a decision of the people running keygate, made and recorded
 * like any other change, not a redeploy.
 */
export interface SigninSettings {
  /** Whether admins may sign in with a password (the root ADMIN_TOKEN always works). */
  passwordSignin: boolean;
  /** Whether every admin needs a second factor (those without one enrol at their next sign-in). */
  secondFactorRequired: boolean;
}

export const DEFAULT_SIGNIN_SETTINGS: SigninSettings = { passwordSignin: true, secondFactorRequired: false };

const STORED_AS: Record<keyof SigninSettings, string> = { passwordSignin: "password_signin", secondFactorRequired: "second_factor_required" };

export async function signinSettings(db: D1Database): Promise<SigninSettings> {
  const stored = await readSettings(db);
  const read = (name: keyof SigninSettings) => {
    const value = stored[STORED_AS[name]];
    return typeof value === "boolean" ? value : DEFAULT_SIGNIN_SETTINGS[name];
  };
  return { passwordSignin: read("passwordSignin"), secondFactorRequired: read("secondFactorRequired") };
}

/** The statements that store `change`. */
export function storeSigninSettings(db: D1Database, change: Partial<SigninSettings>, now: number): D1PreparedStatement[] {
  return (Object.keys(change) as (keyof SigninSettings)[])
    .filter((name) => change[name] !== undefined)
    .map((name) => writeSetting(db, STORED_AS[name], change[name], now));
}
