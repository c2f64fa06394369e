/** Small helpers for the PPP simulation tests. */
import { encodeCpPacket, type CpOption } from '../../src/wire/ppp/cp.js';
export { parseCpPacket } from '../../src/wire/ppp/cp.js';

/** Option bodies as in the L2TP proxy LCP AVPs: options only, no Code/Identifier/Length. */
export function encodeCpOptionsForTest(opts: readonly [number, readonly number[]][]): Uint8Array {
  const options: CpOption[] = opts.map(([type, data]) => ({ type, data: Uint8Array.from(data) }));
  return encodeCpPacket({ kind: 'configure', code: 1, identifier: 0, options }).subarray(4);
}
