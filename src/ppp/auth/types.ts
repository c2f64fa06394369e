/**
 * Authentication contract between the PPP core and whoever decides (a local user table now,
 * RADIUS later): the core either asks an injected synchronous `AuthVerifier`, or emits an
 * `AuthRequest` and waits for `PppLink.authResult(AuthDecision)`.
 */
import type { AuthProtocol } from '../lcp.js';

/** A synchronous local user table. */
export interface AuthVerifier {
  /** The user's clear-text password, or undefined for an unknown user. */
  lookup(user: string): { readonly password?: string } | undefined;
}

/** Everything an external decider (RADIUS) needs, per method. */
export type AuthRequest =
  | { readonly method: 'pap'; readonly username: string; readonly password: string }
  | {
      readonly method: 'chap-md5';
      readonly username: string;
      readonly identifier: number;
      readonly challenge: Uint8Array;
      readonly response: Uint8Array;
    }
  | {
      readonly method: 'mschapv2';
      readonly username: string;
      readonly identifier: number;
      readonly authenticatorChallenge: Uint8Array;
      readonly peerChallenge: Uint8Array;
      readonly ntResponse: Uint8Array;
    };

/** The decision. For MS-CHAPv2 success, `authenticatorResponse` (20 octets, RFC 2759 §8.7) is required. */
export type AuthDecision =
  | {
      readonly ok: true;
      readonly authenticatorResponse?: Uint8Array;
      readonly message?: string;
      /** A static address for this user (RADIUS Framed-IP-Address). */
      readonly framedAddress?: string;
      /** DNS / NBNS servers for this session's IPCP instead of the configured ones (RADIUS, RFC 2548 §2.2.9-12). */
      readonly dns?: readonly string[];
      readonly nbns?: readonly string[];
    }
  | {
      readonly ok: false;
      readonly message?: string;
      /** MS-CHAPv2 E= code (default 691, RFC 2759 §6). */
      readonly error?: number;
    };

/** How authentication ended. */
export interface AuthOutcome {
  readonly ok: boolean;
  readonly method: AuthProtocol;
  readonly username: string;
  /** 'verified' | 'rejected' | 'timeout' | 'bad-authenticator-response' | 'failure-received' */
  readonly reason: string;
  readonly framedAddress?: string;
  /** Per-session IPCP servers from the decision. */
  readonly dns?: readonly string[];
  readonly nbns?: readonly string[];
}

/** Output of the auth state machines. */
export interface AuthOutput {
  /** Send a PAP (0xc023) or CHAP (0xc223) packet. */
  send(protocol: number, info: Uint8Array): void;
  /** External decision wanted (no verifier). */
  request(r: AuthRequest): void;
  /** Authentication finished. */
  done(o: AuthOutcome, now: import('../../base/time.js').Instant): void;
}
