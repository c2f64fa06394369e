/**
 * The builder of `[[l2tpv3_static]]`: the cross-field rules of static pseudowires. Unique names and
 * TAPs; sequencing only with the default sublayer (§4.6); a real peer address; one socket per UDP
 * address and port (no other static pseudowire, `[[listen]]` or `[l2tpv3]` on it); a Session ID
 * once per local address and encapsulation (§4.1: the receiver finds the session by it alone).
 * Every problem goes to `fail(key, message)`; nothing throws.
 */
import { L2TPV3_STATIC } from './schema-l2tpv3-static.js';
import type { TableReader, TomlTable } from './table.js';
import type { L2tpv3Section, L2tpv3StaticSection, ListenConfig } from './types.js';

type Fail = (key: string, message: string) => void;

/** Two bind addresses overlap when equal or either is the wildcard. */
const overlaps = (a: string, b: string): boolean => a === b || a === '0.0.0.0' || b === '0.0.0.0';

/** Every `[[l2tpv3_static]]`, checked against each other and the other UDP sockets. */
export function buildL2tpv3Static(r: TableReader, doc: TomlTable, ctx: { readonly listen: readonly ListenConfig[]; readonly l2tpv3: L2tpv3Section | undefined }, fail: Fail): L2tpv3StaticSection[] {
  const out: L2tpv3StaticSection[] = [];
  const names = new Map<string, number>();
  const taps = new Map<string, number>();
  for (const t of r.array(L2TPV3_STATIC, doc)) {
    const v = t.values;
    const p = t.path;
    const dupName = names.get(v.name);
    if (dupName !== undefined) fail(`${p}.name`, `duplicate name "${v.name}" (also l2tpv3_static[${dupName}])`);
    names.set(v.name, t.index);
    if (v.tap !== undefined) {
      const j = taps.get(v.tap);
      if (j !== undefined) fail(`${p}.tap`, `TAP "${v.tap}" is also used by l2tpv3_static[${j}]`);
      taps.set(v.tap, t.index);
    }
    if (v.seq !== 'none' && v.l2specType === 'none') fail(`${p}.seq`, 'needs l2spec_type "default" (the sequence number lives in the sublayer, §4.6)');
    if (v.remote === '0.0.0.0') fail(`${p}.remote`, 'must be the peer\'s address (a static pseudowire has no control connection to learn it)');
    if (v.encap === 'ip' && (t.given.has('udp_sport') || t.given.has('udp_dport'))) fail(`${p}.${t.given.has('udp_sport') ? 'udp_sport' : 'udp_dport'}`, 'only used with encap = "udp"');
    for (const [j, o] of out.entries()) {
      if (!overlaps(o.local, v.local)) continue;
      if (v.encap === 'udp' && o.encap === 'udp' && o.udpSport === v.udpSport) {
        fail(`${p}.udp_sport`, `${v.local}:${v.udpSport} is also the socket of l2tpv3_static[${j}] (each static pseudowire has its own: give it another udp_sport)`);
      } else if (o.encap === v.encap && o.sessionId === v.sessionId) {
        fail(`${p}.session_id`, `session_id ${v.sessionId} is also used by l2tpv3_static[${j}] on ${o.local} (encap ${v.encap}): the receiver tells sessions apart by it alone`);
      }
    }
    if (v.encap === 'udp') checkUdpClash(p, v, ctx, fail);
    out.push(v);
  }
  return out;
}

/** A static UDP socket must not take the port of a `[[listen]]` or of `[l2tpv3]`. */
function checkUdpClash(p: string, v: L2tpv3StaticSection, ctx: { readonly listen: readonly ListenConfig[]; readonly l2tpv3: L2tpv3Section | undefined }, fail: Fail): void {
  const l = ctx.listen.find((x) => x.port === v.udpSport && overlaps(x.address, v.local));
  if (l !== undefined) fail(`${p}.udp_sport`, `${v.local}:${v.udpSport} is also a [[listen]] address (${l.address}:${l.port}): give one of them another port`);
  const d = ctx.l2tpv3?.listen;
  if (d !== undefined && d.port === v.udpSport && overlaps(d.host, v.local)) fail(`${p}.udp_sport`, `${v.local}:${v.udpSport} is also the [l2tpv3] listen address: give one of them another port`);
}
