/**
 * l2tpkit — the typed library. Layers are exported as namespaces so that names stay unambiguous:
 * `wire.l2tp`, `wire.l2tpv3`, radius and pppoe codecs, the sans-I/O `l2tp` engine, `ppp`, `ipsec`, `aaa`, `dataplane`, the
 * L2TP/IPsec `gate` (a composition of `ipsec` and `l2tp`), and the
 * `io` shell that drives them with real sockets and timers. `daemon` is the l2tpd/l2tpctl program.
 */
export * as base from './base/index.js';
export * as l2tpWire from './wire/l2tp/index.js';
export * as l2tpv3Wire from './wire/l2tpv3/index.js';
export * as pppWire from './wire/ppp/index.js';
export * as radiusWire from './wire/radius/index.js';
export * as pppoeWire from './wire/pppoe/index.js';
export * as l2tp from './l2tp/index.js';
export * as ppp from './ppp/index.js';
export * as ipsec from './ipsec/index.js';
export * as gate from './gate/index.js';
export * as aaa from './aaa/index.js';
export * as dataplane from './dataplane/index.js';
export * as io from './io/index.js';
export * as daemon from './daemon/index.js';
