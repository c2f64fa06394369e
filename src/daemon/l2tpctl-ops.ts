/**
 * l2tpctl's Junos-style words (control-ops.ts): `show tunnels|sessions|destinations [local-gateway A]
 * [peer-gateway A] [user NAME] [tunnel ID]`, `show summary`, `clear destination PEER [local-gateway A]`,
 * `clear statistics`.
 */
import { isIP } from 'node:net';
import type { ControlRequest, ShowFilter } from './control-protocol.js';

/** Usage lines of these commands. */
export const OPS_USAGE = `  show destinations [FILTER] [--json]  peers: tunnels, sessions, payload per (local, peer) address
  show summary [--json]        counts by state, control messages, payload (now and since start)
    FILTER (tunnels, sessions, destinations): local-gateway ADDR, peer-gateway ADDR, user NAME, tunnel ID
  clear destination PEER [local-gateway ADDR]  StopCCN to every tunnel with that peer
  clear statistics             restart the counters show prints at 0 (metrics and SNMP keep counting)`;

const FILTER_WORDS = 'local-gateway ADDR, peer-gateway ADDR, user NAME, tunnel ID';

/** `KEY VALUE ...` after a show noun into a filter, or a usage error. */
export function parseFilterWords(words: readonly string[]): ShowFilter | undefined | string {
  if (words.length === 0) return undefined;
  const f: { localGateway?: string; peerGateway?: string; user?: string; tunnel?: number } = {};
  for (let i = 0; i < words.length; i += 2) {
    const k = words[i];
    const v = words[i + 1];
    if (v === undefined) return `"${k ?? ''}" needs a value (${FILTER_WORDS})`;
    if (k === 'local-gateway' || k === 'peer-gateway') {
      if (isIP(v) === 0) return `${k} needs an IP address, not "${v}"`;
      f[k === 'local-gateway' ? 'localGateway' : 'peerGateway'] = v;
    } else if (k === 'user') {
      f.user = v;
    } else if (k === 'tunnel') {
      if (!/^\d{1,10}$/.test(v) || Number(v) > 0xffffffff) return `tunnel needs a tunnel id, not "${v}"`;
      f.tunnel = Number(v);
    } else {
      return `unexpected argument "${k ?? ''}" (filters: ${FILTER_WORDS})`;
    }
  }
  return f;
}

/** `show ...` of tunnels, sessions, destinations, summary; undefined = not one of these. */
export function opsShow(what: string | undefined, rest: readonly string[]): ControlRequest | string | undefined {
  const noun = what === 'tunnel' ? 'tunnels' : what === 'session' ? 'sessions' : what === 'destination' ? 'destinations' : what;
  if (noun === 'summary') return rest.length > 0 ? `unexpected argument "${rest[0] ?? ''}"` : { cmd: 'show-summary' };
  if (noun !== 'tunnels' && noun !== 'sessions' && noun !== 'destinations') return undefined;
  const f = parseFilterWords(rest);
  if (typeof f === 'string') return f;
  const cmd = noun === 'tunnels' ? 'show-tunnels' : noun === 'sessions' ? 'show-sessions' : 'show-destinations';
  return f === undefined ? { cmd } : { cmd, filter: f };
}

/** `clear destination ...` / `clear statistics`; undefined = not one of these. */
export function opsClear(what: string | undefined, rest: readonly string[]): ControlRequest | string | undefined {
  if (what === 'statistics') return rest.length > 0 ? `unexpected argument "${rest[0] ?? ''}"` : { cmd: 'clear-statistics' };
  if (what !== 'destination') return undefined;
  const [peer, k, v, extra] = rest;
  if (peer === undefined || isIP(peer) === 0) return 'clear destination needs the peer\'s IP address';
  if (k === undefined) return { cmd: 'clear-destination', peer };
  if (k !== 'local-gateway' || v === undefined || isIP(v) === 0) return 'clear destination PEER [local-gateway ADDR]';
  if (extra !== undefined) return `unexpected argument "${extra}"`;
  return { cmd: 'clear-destination', peer, localGateway: v };
}
