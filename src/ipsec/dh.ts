/**
 * Diffie-Hellman groups for IKEv1 (RFC 2409 §6.2 group 2, RFC 3526 groups 5/14, RFC 5903 groups
 * 19/20) over node:crypto, with the private value taken from the injected RandomSource.
 */
import { createDiffieHellman, createECDH, getDiffieHellman, type DiffieHellman } from 'node:crypto';
import { err, ok, type RandomSource, type Result } from '../base/index.js';

/** Supported group numbers. */
export type DhGroupNumber = 2 | 5 | 14 | 19 | 20;

/** One side's ephemeral key pair. */
export interface DhKeyPair {
  readonly group: DhGroupNumber;
  /** KE payload data: g^x padded to the prime length, or x|y for ECP (RFC 5903 §7). */
  readonly publicValue: Uint8Array;
  /** g^xy padded to the prime length, or the x coordinate for ECP (RFC 5903 §7). */
  computeShared(peer: Uint8Array): Result<Uint8Array, string>;
}

const MODP: Record<number, { name: string; len: number }> = {
  2: { name: 'modp2', len: 128 },
  5: { name: 'modp5', len: 192 },
  14: { name: 'modp14', len: 256 },
};
const ECP: Record<number, { curve: string; len: number }> = {
  19: { curve: 'prime256v1', len: 32 },
  20: { curve: 'secp384r1', len: 48 },
};

/** True if the group number is one we implement. */
export const isSupportedGroup = (g: number): g is DhGroupNumber => g in MODP || g in ECP;

/** KE payload length for a group. */
export function dhPublicLength(g: DhGroupNumber): number {
  const m = MODP[g];
  if (m) return m.len;
  const e = ECP[g];
  return e ? 2 * e.len : 0;
}

const leftPad = (b: Uint8Array, len: number): Uint8Array => {
  if (b.length === len) return b;
  const out = new Uint8Array(len);
  out.set(b.subarray(Math.max(0, b.length - len)), Math.max(0, len - b.length));
  return out;
};

/**
 * One DiffieHellman object per MODP group, built once: its constructor runs OpenSSL's DH_check
 * (a safe-prime test; ~85 ms for the 1024-bit group 2, which OpenSSL 3 does not know by name).
 * Key pairs share it and set their own private value before each (synchronous) use.
 */
const modpEngines = new Map<number, DiffieHellman>();
function modpEngine(group: number, name: string): DiffieHellman {
  let dh = modpEngines.get(group);
  if (!dh) {
    const base = getDiffieHellman(name);
    dh = createDiffieHellman(base.getPrime(), base.getGenerator());
    modpEngines.set(group, dh);
  }
  return dh;
}

/** Generate a key pair for `group`, private value from `random`. */
export function generateDh(group: DhGroupNumber, random: RandomSource): DhKeyPair {
  const m = MODP[group];
  if (m) {
    const dh = modpEngine(group, m.name);
    const priv = random.bytes(32);
    priv[0] = (priv[0] ?? 0) | 0x80; // keep the exponent full-size (never zero)
    dh.setPrivateKey(priv);
    dh.generateKeys(); // recomputes g^x for the private value just set
    const publicValue = leftPad(new Uint8Array(dh.getPublicKey()), m.len);
    return {
      group,
      publicValue,
      computeShared(peer) {
        // RFC 2409 §5: the KE payload of a MODP group is exactly the prime length.
        if (peer.length !== m.len) return err(`KE length ${peer.length} != ${m.len}`);
        if (peer.every((x) => x === 0) || (peer.subarray(0, -1).every((x) => x === 0) && peer[peer.length - 1] === 1)) return err('degenerate public value');
        try {
          dh.setPrivateKey(priv); // the shared engine may hold another key pair's value by now
          return ok(leftPad(new Uint8Array(dh.computeSecret(peer)), m.len));
        } catch {
          return err('invalid public value');
        }
      },
    };
  }
  const e = ECP[group];
  if (!e) throw new Error(`unsupported DH group ${group}`); // programmer error: check isSupportedGroup first
  const ecdh = createECDH(e.curve);
  for (;;) {
    try {
      ecdh.setPrivateKey(random.bytes(e.len));
      break;
    } catch {
      // private scalar out of range (probability ~2^-32); draw again
    }
  }
  const pub = new Uint8Array(ecdh.getPublicKey()); // 0x04 | x | y
  return {
    group,
    publicValue: pub.slice(1),
    computeShared(peer) {
      if (peer.length !== 2 * e.len) return err(`KE length ${peer.length} != ${2 * e.len}`);
      const full = new Uint8Array(1 + peer.length);
      full[0] = 4;
      full.set(peer, 1);
      try {
        return ok(new Uint8Array(ecdh.computeSecret(full)));
      } catch {
        return err('point not on curve');
      }
    },
  };
}
