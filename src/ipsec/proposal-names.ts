/**
 * strongSwan-style proposal names (`aes256-sha256-modp2048`, `aes128gcm16`, `3des-sha1`) for the
 * IKEv1 phase-1 and ESP policy (RFC 2409 App. A attribute values, RFC 4106 GCM, RFC 4868 SHA-2).
 * One name lists algorithms of each kind, dash-separated; the suite is every combination of them,
 * as in strongSwan's `ike=` / `esp=`. Parsing never throws; errors name the offending token.
 */
import { err, ok, type Result } from '../base/index.js';
import type { DhGroupNumber } from './dh.js';
import type { EspIntegrity } from './esp.js';
import type { IkeHashName } from './keys.js';
import { DEFAULT_POLICY, type IkePolicy, type Phase1Encryption, type Phase1Suite, type Phase2Encryption, type Phase2Suite } from './proposals.js';
import type { InitiatorProposals, Phase1Offer, Phase2Offer } from './sa-payloads.js';

type Integrity = Exclude<EspIntegrity, 'none'>;

/** RFC 2409 §6 / RFC 3526 / RFC 5903 group names as strongSwan spells them. */
const GROUPS: Readonly<Record<string, DhGroupNumber>> = { modp1024: 2, modp1536: 5, modp2048: 14, ecp256: 19, ecp384: 20 };
const P1_ENC: Readonly<Record<string, Phase1Encryption>> = { aes128: 'aes128', aes: 'aes128', aes256: 'aes256', '3des': '3des' };
const P1_HASH: Readonly<Record<string, IkeHashName>> = {
  sha1: 'sha1', sha: 'sha1', sha256: 'sha256', sha2_256: 'sha256', sha384: 'sha384', sha2_384: 'sha384', sha512: 'sha512', sha2_512: 'sha512',
};
const P2_ENC: Readonly<Record<string, Phase2Encryption>> = {
  aes128: 'aes128-cbc', aes: 'aes128-cbc', aes256: 'aes256-cbc', '3des': '3des-cbc',
  aes128gcm16: 'aes128-gcm16', aes128gcm128: 'aes128-gcm16', aes256gcm16: 'aes256-gcm16', aes256gcm128: 'aes256-gcm16',
};
const P2_INTEG: Readonly<Record<string, Integrity>> = {
  sha1: 'hmac-sha1-96', sha: 'hmac-sha1-96', sha256: 'hmac-sha256-128', sha2_256: 'hmac-sha256-128',
  sha384: 'hmac-sha384-192', sha2_384: 'hmac-sha384-192', sha512: 'hmac-sha512-256', sha2_512: 'hmac-sha512-256',
};

const has = <T>(m: Readonly<Record<string, T>>, k: string): T | undefined => (Object.hasOwn(m, k) ? m[k] : undefined);
const add = <T>(xs: T[], x: T): void => {
  if (!xs.includes(x)) xs.push(x);
};

/** Parse one phase-1 name: at least one cipher, one hash (used as PRF too, RFC 2409 §4) and one group. */
export function parseIkeProposal(name: string): Result<Phase1Suite, string> {
  const encryption: Phase1Encryption[] = [];
  const hash: IkeHashName[] = [];
  const groups: DhGroupNumber[] = [];
  for (const tok of name.toLowerCase().split('-')) {
    const e = has(P1_ENC, tok);
    const h = has(P1_HASH, tok);
    const g = has(GROUPS, tok);
    if (e !== undefined) add(encryption, e);
    else if (h !== undefined) add(hash, h);
    else if (g !== undefined) add(groups, g);
    else return err(`"${name}": unknown algorithm "${tok}" (ciphers aes128 aes256 3des; hashes sha1 sha256 sha384 sha512; groups modp1024 modp1536 modp2048 ecp256 ecp384)`);
  }
  if (encryption.length === 0) return err(`"${name}": no cipher (aes128, aes256, 3des)`);
  if (hash.length === 0) return err(`"${name}": no hash (sha1, sha256, sha384, sha512)`);
  if (groups.length === 0) return err(`"${name}": no DH group (modp1024, modp1536, modp2048, ecp256, ecp384)`);
  return ok({ encryption, hash, groups });
}

/**
 * Parse one ESP name: ciphers, integrity (none for GCM-only names, RFC 4106 §8.2) and optional PFS
 * groups. A CBC cipher needs an integrity algorithm.
 */
export function parseEspProposal(name: string): Result<Phase2Suite, string> {
  const encryption: Phase2Encryption[] = [];
  const integrity: Integrity[] = [];
  const pfsGroups: DhGroupNumber[] = [];
  for (const tok of name.toLowerCase().split('-')) {
    const e = has(P2_ENC, tok);
    const i = has(P2_INTEG, tok);
    const g = has(GROUPS, tok);
    if (e !== undefined) add(encryption, e);
    else if (i !== undefined) add(integrity, i);
    else if (g !== undefined) add(pfsGroups, g);
    else return err(`"${name}": unknown algorithm "${tok}" (ciphers aes128 aes256 3des aes128gcm16 aes256gcm16; integrity sha1 sha256 sha384 sha512; PFS groups modp1024 modp1536 modp2048 ecp256 ecp384)`);
  }
  if (encryption.length === 0) return err(`"${name}": no cipher (aes128, aes256, 3des, aes128gcm16, aes256gcm16)`);
  if (encryption.some((e) => !e.endsWith('gcm16')) && integrity.length === 0) return err(`"${name}": a CBC cipher needs an integrity algorithm (e.g. "${name}-sha1")`);
  return ok({ encryption, integrity, pfsGroups });
}

/** Parse a list of names; errors carry the index of the bad entry. */
export function parseProposalList<T>(names: readonly string[], parse: (n: string) => Result<T, string>): Result<T[], { readonly index: number; readonly message: string }> {
  const out: T[] = [];
  for (const [index, n] of names.entries()) {
    const r = parse(n);
    if (!r.ok) return err({ index, message: r.error });
    out.push(r.value);
  }
  return out.length === 0 ? err({ index: 0, message: 'needs at least one proposal' }) : ok(out);
}

/** A responder policy accepting exactly the given suites (undefined = the built-in default's). */
export function policyFromSuites(
  p1: readonly Phase1Suite[] | undefined,
  p2: readonly Phase2Suite[] | undefined,
  limits: {
    readonly ikeLifetimeSeconds: number;
    readonly childLifetimeSeconds: number;
    /** Largest phase-2 lifetime in kilobytes a client may propose (RFC 2407 §4.5 life type 2); none = no cap. */
    readonly childLifetimeKilobytes?: number;
    readonly sha256Truncation?: 96 | 128;
  },
): IkePolicy {
  const union = <T>(xs: readonly (readonly T[])[]): T[] => [...new Set(xs.flat())];
  const d = DEFAULT_POLICY;
  return {
    phase1: p1
      ? { encryption: union(p1.map((x) => x.encryption)), hash: union(p1.map((x) => x.hash)), groups: union(p1.map((x) => x.groups)), maxLifetimeSeconds: limits.ikeLifetimeSeconds, suites: p1 }
      : { ...d.phase1, maxLifetimeSeconds: limits.ikeLifetimeSeconds },
    phase2: {
      ...(p2
        ? { encryption: union(p2.map((x) => x.encryption)), integrity: union(p2.map((x) => x.integrity)), pfsGroups: union(p2.map((x) => x.pfsGroups)), suites: p2 }
        : { encryption: d.phase2.encryption, integrity: d.phase2.integrity, pfsGroups: d.phase2.pfsGroups }),
      maxLifetimeSeconds: limits.childLifetimeSeconds,
      ...(limits.childLifetimeKilobytes !== undefined ? { maxLifetimeKilobytes: limits.childLifetimeKilobytes } : {}),
      ...(limits.sha256Truncation !== undefined ? { sha256Truncation: limits.sha256Truncation } : {}),
    },
  };
}

/**
 * Initiator offers from suites, every combination in the order written. A suite's PFS groups must
 * agree across ESP names (one KE per Quick Mode): the first one found is returned as `pfsGroup`.
 */
export function offersFromSuites(
  p1: readonly Phase1Suite[],
  p2: readonly Phase2Suite[],
  sha256Truncation96 = false,
): Result<{ readonly proposals: InitiatorProposals; readonly pfsGroup: DhGroupNumber | undefined }, string> {
  const phase1: Phase1Offer[] = [];
  for (const s of p1) for (const encryption of s.encryption) for (const hash of s.hash) for (const group of s.groups) phase1.push({ encryption, hash, group });
  const phase2: Phase2Offer[] = [];
  for (const s of p2) {
    for (const encryption of s.encryption) {
      if (encryption.endsWith('gcm16')) {
        if (!phase2.some((o) => o.encryption === encryption)) phase2.push({ encryption });
        continue;
      }
      for (const i of s.integrity) phase2.push({ encryption, integrity: sha256Truncation96 && i === 'hmac-sha256-128' ? 'hmac-sha256-96' : i });
    }
  }
  const groups = [...new Set(p2.flatMap((s) => s.pfsGroups))];
  if (groups.length > 1) return err('ESP proposals name more than one PFS group; an initiator sends one KE');
  // RFC 2408 §4.2: transform numbers are one octet.
  if (phase1.length > 64) return err(`IKE proposals expand to ${phase1.length} transforms (at most 64)`);
  if (phase2.length > 64) return err(`ESP proposals expand to ${phase2.length} transforms (at most 64)`);
  return ok({ proposals: { phase1, phase2 }, pfsGroup: groups[0] });
}

/** The built-in responder defaults written as proposal names (for docs and `show`). */
export const DEFAULT_IKE_PROPOSAL_NAMES: readonly string[] = ['aes256-aes128-3des-sha256-sha384-sha512-sha1-modp2048-ecp256-ecp384-modp1536-modp1024'];
/** The built-in ESP defaults written as proposal names. */
export const DEFAULT_ESP_PROPOSAL_NAMES: readonly string[] = ['aes256gcm16-aes128gcm16', 'aes256-aes128-3des-sha256-sha1-sha384-sha512'];
