/**
 * AC-Cookie (RFC 2516 Appendix A: "used by the Access Concentrator to aid in protecting against
 * denial of service attacks"): a PADO carries an HMAC over the client's MAC and VLAN under a secret
 * that rotates, so a PADR is accepted only from the station that got the PADO, within one or two
 * rotation periods, and without any per-PADI state on the AC.
 *
 *   cookie = epoch (1 octet) | HMAC-SHA256(secret[epoch], epoch | client MAC (6) | VLAN id (2))[0..16)
 *
 * Two secrets are live: the current one and the previous one, so a cookie issued just before a
 * rotation still verifies for one more period. Secrets come from the injected RandomSource, or, with
 * a master key (the daemon keeps one in its state directory), secret[n] = HMAC-SHA256(master, n) for
 * the n-th period since start, so every AC built with the same key issues the same cookies.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { addDuration, type Duration, type Instant, type RandomSource } from '../../base/index.js';
import { writeMac, type MacAddress } from '../../wire/pppoe/index.js';

/** Bytes of an AC-Cookie we issue. */
export const COOKIE_LENGTH = 17;
const MAC_LENGTH = 16;
const SECRET_LENGTH = 32;

/** Issues and verifies AC-Cookies; `handleTimeout` rotates the secret. */
export class CookieJar {
  private epoch = 0;
  private readonly secrets: Uint8Array[];
  private nextRotation: Instant;
  private readonly input = new Uint8Array(9);
  /** Periods since start (secret[n] with a master key). */
  private period = 0;

  constructor(
    private readonly random: RandomSource,
    /** How long one secret is current (a cookie lives between one and two of these). */
    readonly rotation: Duration,
    now: Instant,
    private readonly master?: Uint8Array,
  ) {
    this.secrets = [this.fresh(0), this.fresh(1)];
    this.nextRotation = addDuration(now, rotation);
  }

  /** When the secret rotates next. */
  pollAt(): Instant {
    return this.nextRotation;
  }

  /** Rotate the secret when due (the previous one stays valid one more period). */
  handleTimeout(now: Instant): void {
    while (now >= this.nextRotation) {
      this.epoch = (this.epoch + 1) & 0xff;
      this.period++;
      this.secrets[this.epoch & 1] = this.fresh(this.period);
      this.nextRotation = addDuration(this.nextRotation, this.rotation);
    }
  }

  /** The secret of period `n`: random, or derived from the master key. */
  private fresh(n: number): Uint8Array {
    if (this.master === undefined) return this.random.bytes(SECRET_LENGTH);
    const v = new Uint8Array(4);
    new DataView(v.buffer).setUint32(0, n >>> 0);
    return createHmac('sha256', this.master).update(v).digest();
  }

  private mac(epoch: number, client: MacAddress, vlan: number): Buffer {
    const m = this.input;
    m[0] = epoch;
    writeMac(m, 1, client);
    m[7] = (vlan >>> 8) & 0xff;
    m[8] = vlan & 0xff;
    const key = this.secrets[epoch & 1] ?? new Uint8Array(0);
    return createHmac('sha256', key).update(m).digest().subarray(0, MAC_LENGTH);
  }

  /** A cookie for `client` on `vlan` (0 = untagged). */
  issue(client: MacAddress, vlan: number): Uint8Array {
    const out = new Uint8Array(COOKIE_LENGTH);
    out[0] = this.epoch;
    out.set(this.mac(this.epoch, client, vlan), 1);
    return out;
  }

  /** True when `cookie` was issued by us to `client` on `vlan` in the current or previous epoch. */
  verify(cookie: Uint8Array | undefined, client: MacAddress, vlan: number): boolean {
    if (cookie?.length !== COOKIE_LENGTH) return false;
    const e = cookie[0] ?? 0;
    if (e !== this.epoch && e !== ((this.epoch - 1) & 0xff)) return false;
    return timingSafeEqual(this.mac(e, client, vlan), cookie.subarray(1));
  }
}
