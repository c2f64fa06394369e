/**
 * ESP anti-replay window (RFC 4303 §3.4.3, Appendix A2 style ring bitmap), 32-bit sequence numbers.
 * `check` is done before the ICV (cheap reject), `update` only after the ICV verified.
 */

/** Verdict of a replay check. */
export type ReplayVerdict = 'ok' | 'duplicate' | 'too-old' | 'zero';

/** Sliding window over received sequence numbers. */
export class ReplayWindow {
  /** Window size in packets (multiple of 32). */
  readonly size: number;
  private readonly bits: Uint32Array;
  /** Highest sequence number accepted so far (0 = none). */
  private topSeq = 0;

  /** `size` is rounded up to a multiple of 32, minimum 32 (RFC 4303 §3.4.3 recommends >= 64). */
  constructor(size = 128) {
    this.size = Math.max(32, Math.ceil(size / 32) * 32);
    this.bits = new Uint32Array(this.size / 32);
  }

  /** Highest accepted sequence number. */
  get top(): number {
    return this.topSeq;
  }

  private bit(seq: number): boolean {
    const i = seq % this.size;
    return ((this.bits[i >>> 5] ?? 0) & (1 << (i & 31))) !== 0;
  }

  /** RFC 4303 §3.4.3: reject duplicates and anything left of the window; seq 0 never valid. */
  check(seq: number): ReplayVerdict {
    if (seq === 0) return 'zero';
    if (seq > this.topSeq) return 'ok';
    if (this.topSeq - seq >= this.size) return 'too-old';
    return this.bit(seq) ? 'duplicate' : 'ok';
  }

  /** Mark `seq` received (call only after the ICV verified and `check` said ok). */
  update(seq: number): void {
    if (seq > this.topSeq) {
      const diff = seq - this.topSeq;
      if (diff >= this.size) this.bits.fill(0);
      else for (let s = this.topSeq + 1; s <= seq; s++) this.clear(s);
      this.topSeq = seq;
    }
    const i = seq % this.size;
    this.bits[i >>> 5] = (this.bits[i >>> 5] ?? 0) | (1 << (i & 31));
  }

  private clear(seq: number): void {
    const i = seq % this.size;
    this.bits[i >>> 5] = (this.bits[i >>> 5] ?? 0) & ~(1 << (i & 31));
  }
}
