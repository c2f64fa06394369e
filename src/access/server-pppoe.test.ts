/**
 * BRAS mode: PPPoE sessions of the access concentrator terminated by the same AccessServer as L2TP
 * sessions, through the second lower layer (`pppoeLower`). A client PppLink (role peer, no
 * Address/Control as RFC 2516 §7 wants) talks through real PPPoE session frames.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../base/random.js';
import { instant, type Instant } from '../base/time.js';
import { parseIpv4, parseIpv4Prefix } from '../base/index.js';
import { parseUsersFile } from '../aaa/index.js';
import { PppLink } from '../ppp/index.js';
import {
  BROADCAST_MAC, EtherType, PppoeCode, encodeDiscoveryFrame, encodeSessionFrame, formatMac, parseDiscoveryFrame, parseMac, parseSessionFrame, type DiscoveryTags, type MacAddress,
} from '../wire/pppoe/index.js';
import type { SessionId } from '../wire/l2tp/index.js';
import { writeIcmpEcho, ICMP_ECHO_REQUEST } from '../../test/lib/tun-packets.js';
import { AccessServer, LOWER_TUNNEL, PppoeAccessConcentrator, UserTable, pppoeLower, type AccessEngine, type AccessEvent, type PppoeAcEvent } from './index.js';

const AC_MAC = parseMac('02:ac:00:00:00:01') as MacAddress;
const CLIENT = parseMac('02:00:00:00:00:0a') as MacAddress;
const OTHER = parseMac('02:00:00:00:00:0b') as MacAddress;
const T0 = instant(1_000_000);

/** An engine that must never be used: a BRAS session has no L2TP under it. */
const NO_ENGINE: AccessEngine = {
  sendData: () => assert.fail('no L2TP data for a PPPoE session'),
  closeSession: () => assert.fail('no CDN for a PPPoE session'),
  bindSession: () => assert.fail('no L2TP sink for a PPPoE session'),
};

/** AC + server + one client station, wired as the daemon's shell wires them. */
class Bras {
  readonly ac = new PppoeAccessConcentrator({ acName: 'bras', mac: AC_MAC, serviceNames: ['internet'], random: seededRandom(3) }, T0);
  readonly server: AccessServer;
  readonly events: AccessEvent[] = [];
  /** AC session id -> server session. */
  readonly bySid = new Map<number, SessionId>();
  /** Ethernet frames the AC sent (discovery and session). */
  readonly wire: Uint8Array[] = [];

  constructor() {
    const users = parseUsersFile('alice wonderland');
    const pool = parseIpv4Prefix('100.64.0.0/29');
    assert.ok(users.ok && pool.ok);
    this.server = new AccessServer(NO_ENGINE, { random: seededRandom(5), users: new UserTable(users.value), ipv4Pool: pool.value, localAddress: parseIpv4('100.64.0.1') ?? 0, auth: ['chap-md5'] });
  }

  /** The AC's sessions, as the port of the daemon: frames go straight to `wire`. */
  private readonly port = {
    sendPpp: (sid: number, ppp: Uint8Array, headroomFree: boolean): boolean => {
      const f = this.ac.sendSession(sid, ppp, headroomFree);
      if (f !== undefined) this.wire.push(f.slice());
      return f !== undefined;
    },
    closeSession: (sid: number, detail?: string): boolean => this.ac.close(sid, detail),
    bindSink: (sid: number, sink: Parameters<PppoeAccessConcentrator['bindSink']>[1], now: Instant): boolean => this.ac.bindSink(sid, sink, now),
  };

  frame(now: Instant, f: Uint8Array): void {
    this.ac.handleFrame(now, f);
    this.drain(now);
  }

  drain(now: Instant): void {
    for (;;) {
      const f = this.ac.pollTransmit();
      if (f !== undefined) {
        this.wire.push(f);
        continue;
      }
      const e = this.ac.pollEvent();
      if (e === undefined) break;
      this.onAc(now, e);
    }
    for (let e = this.server.pollEvent(); e !== undefined; e = this.server.pollEvent()) this.events.push(e);
  }

  private onAc(now: Instant, e: PppoeAcEvent): void {
    if (e.type === 'session-up') {
      const info = { kind: 'pppoe', interface: 'eth0', mac: formatMac(e.mac), sessionId: e.sessionId, serviceName: e.serviceName } as const;
      const id = this.server.openLower(now, pppoeLower(this.port, info, e.maxPayload), { callingNumber: formatMac(e.mac) });
      assert.ok(id !== undefined);
      this.bySid.set(e.sessionId, id);
    } else {
      const id = this.bySid.get(e.sessionId);
      this.bySid.delete(e.sessionId);
      if (id !== undefined && e.cause !== 'closed') this.server.lowerGone(now, LOWER_TUNNEL, id);
    }
  }

  take(): Uint8Array[] {
    return this.wire.splice(0);
  }
}

function discovery(code: number, src: MacAddress, tags: DiscoveryTags, sid = 0): Uint8Array {
  return encodeDiscoveryFrame({
    ethernet: { destination: code === PppoeCode.PADI ? BROADCAST_MAC : AC_MAC, source: src, vlans: [], ethertype: EtherType.pppoeDiscovery },
    packet: { code: code as 0x09, sessionId: sid, tags },
  });
}

/** PADI/PADO/PADR/PADS; returns the SESSION_ID. */
function connect(b: Bras, now: Instant, src: MacAddress): number {
  b.frame(now, discovery(PppoeCode.PADI, src, { serviceNames: ['internet'] }));
  const pado = parseDiscoveryFrame(b.take()[0] ?? new Uint8Array());
  assert.ok(pado.ok && pado.value.packet.code === PppoeCode.PADO);
  b.frame(now, discovery(PppoeCode.PADR, src, { serviceNames: ['internet'], ...(pado.value.packet.tags.acCookie ? { acCookie: pado.value.packet.tags.acCookie } : {}) }));
  const pads = parseDiscoveryFrame(b.take()[0] ?? new Uint8Array());
  assert.ok(pads.ok && pads.value.packet.code === PppoeCode.PADS);
  return pads.value.packet.sessionId;
}

/** Run PPP between the client link and the BRAS until quiet; returns the client's ip-up peer/local. */
function negotiate(b: Bras, client: PppLink, sid: number, src: MacAddress, t: number): { local: string; peer: string } | undefined {
  let up: { local: string; peer: string } | undefined;
  for (let round = 0; round < 40; round++) {
    const now = instant(T0 + t + round);
    let moved = false;
    for (let f = client.pollTransmit(); f !== undefined; f = client.pollTransmit()) {
      moved = true;
      b.frame(now, encodeSessionFrame({ ethernet: { destination: AC_MAC, source: src, vlans: [], ethertype: EtherType.pppoeSession }, sessionId: sid, payload: f }));
    }
    for (const w of b.take()) {
      const s = parseSessionFrame(w);
      if (!s.ok) continue; // a PADT, looked at by the caller
      assert.equal(s.value.sessionId, sid);
      moved = true;
      client.handleFrame(now, s.value.payload);
    }
    for (let e = client.pollEvent(); e !== undefined; e = client.pollEvent()) if (e.type === 'ip-up') up = { local: e.local, peer: e.peer };
    if (!moved) break;
  }
  return up;
}

const peerLink = (): PppLink => new PppLink({ role: 'peer', random: seededRandom(9), credentials: { username: 'alice', password: 'wonderland' }, ipcp: {}, ipv6cp: false, addressControl: false });

test('BRAS: a PPPoE session gets LCP, CHAP and an address from the pool over the PPPoE lower layer; IP both ways', () => {
  const b = new Bras();
  const sid = connect(b, T0, CLIENT);
  const client = peerLink();
  client.open(T0);
  const up = negotiate(b, client, sid, CLIENT, 1);
  assert.ok(up, 'IPCP came up on the client');
  assert.equal(up.local, '100.64.0.2', 'the first free address of the pool');
  assert.equal(b.server.stats().ipv4InUse, 1);
  const info = b.server.snapshot()[0];
  assert.equal(info?.tunnel, LOWER_TUNNEL);
  assert.equal(info?.username, 'alice');
  assert.equal(info?.ipv4, '100.64.0.2');
  assert.deepEqual(info?.pppoe, { kind: 'pppoe', interface: 'eth0', mac: '02:00:00:00:00:0a', sessionId: sid, serviceName: 'internet' });
  assert.ok(b.events.some((e) => e.type === 'login' && e.address === '100.64.0.2'));
  // Client -> TUN.
  const ping = Buffer.alloc(64);
  writeIcmpEcho(ping, 0, 64, ICMP_ECHO_REQUEST, '100.64.0.2', '198.51.100.1', 1, 1);
  const frame = client.sendIp(ping, 4);
  assert.ok(frame);
  b.frame(instant(T0 + 100), encodeSessionFrame({ ethernet: { destination: AC_MAC, source: CLIENT, vlans: [], ethertype: EtherType.pppoeSession }, sessionId: sid, payload: frame }));
  assert.deepEqual(b.server.pollTunWrite(), new Uint8Array(ping), 'the echo request reached the TUN');
  // TUN -> client: a PPPoE session frame without Address/Control.
  const back = Buffer.alloc(64);
  writeIcmpEcho(back, 0, 64, 0, '198.51.100.1', '100.64.0.2', 1, 1);
  assert.equal(b.server.handleTunPacket(instant(T0 + 101), back), true);
  const out = b.take();
  assert.equal(out.length, 1);
  const s = parseSessionFrame(out[0] ?? new Uint8Array());
  assert.ok(s.ok);
  assert.deepEqual([...s.value.payload.subarray(0, 2)], [0x00, 0x21], 'Protocol IPv4 first, no ff 03 (RFC 2516 §7)');
  assert.deepEqual(client.handleFrame(instant(T0 + 102), s.value.payload)?.packet, new Uint8Array(back));
});

test('BRAS: the client\'s PADT ends PPP and frees the address; a spoofed PADT before it changes nothing', () => {
  const b = new Bras();
  const sid = connect(b, T0, CLIENT);
  const client = peerLink();
  client.open(T0);
  assert.ok(negotiate(b, client, sid, CLIENT, 1));
  assert.equal(b.server.stats().ipv4InUse, 1);
  // Wrong MAC, then wrong session id: dropped and counted, the session and its lease stay.
  b.frame(instant(T0 + 200), discovery(PppoeCode.PADT, OTHER, {}, sid));
  b.frame(instant(T0 + 201), discovery(PppoeCode.PADT, CLIENT, {}, sid ^ 0x5a5a));
  assert.equal(b.server.stats().sessions, 1);
  assert.equal(b.server.stats().ipv4InUse, 1);
  assert.equal(b.ac.counters.dropped['spoofed-padt'], 1);
  assert.equal(b.ac.counters.dropped['unknown-session'], 1);
  b.frame(instant(T0 + 300), discovery(PppoeCode.PADT, CLIENT, {}, sid));
  assert.equal(b.server.stats().sessions, 0);
  assert.equal(b.server.stats().ipv4InUse, 0, 'the lease is free again');
  assert.equal(b.take().length, 0, 'nothing is sent after the client\'s PADT (no LCP Terminate, no PADT back)');
  const logout = b.events.find((e) => e.type === 'logout');
  assert.equal(logout?.type === 'logout' ? `${logout.reason}/${logout.by}` : '', 'padt-received/peer');
});

test('BRAS: PPP ending on our side (LCP Terminate from the client) ends the PPPoE session with a PADT', () => {
  const b = new Bras();
  const sid = connect(b, T0, CLIENT);
  const client = peerLink();
  client.open(T0);
  assert.ok(negotiate(b, client, sid, CLIENT, 1));
  client.close(instant(T0 + 400), 'admin-close');
  negotiate(b, client, sid, CLIENT, 400);
  assert.equal(b.ac.sessionCount, 1, 'RFC 1661 Stopping: the link waits one restart interval after Terminate-Ack');
  const at = b.server.pollAt();
  assert.ok(at !== undefined);
  b.server.handleTimeout(at);
  b.drain(at);
  assert.equal(b.server.stats().ipv4InUse, 0);
  assert.equal(b.ac.sessionCount, 0, 'the AC session is gone');
  assert.equal(b.ac.counters.padtSent, 1, 'one PADT to the client');
  const logout = b.events.find((e) => e.type === 'logout');
  assert.equal(logout?.type === 'logout' ? logout.reason : '', 'peer-terminated');
});

test('BRAS: the MRU never exceeds the PPPoE payload (1492 without RFC 4638)', () => {
  const b = new Bras();
  const users = parseUsersFile('alice wonderland');
  const pool = parseIpv4Prefix('100.64.0.0/29');
  assert.ok(users.ok && pool.ok);
  const srv = new AccessServer(NO_ENGINE, { random: seededRandom(5), users: new UserTable(users.value), ipv4Pool: pool.value, localAddress: parseIpv4('100.64.0.1') ?? 0, mru: 1500 });
  const sent: Uint8Array[] = [];
  const lower = pppoeLower({ sendPpp: (_s, f) => sent.push(f.slice()) > 0, closeSession: () => true, bindSink: () => true }, { kind: 'pppoe', interface: 'eth0', mac: '02:00:00:00:00:0a', sessionId: 5, serviceName: '' });
  srv.openLower(T0, lower, {});
  srv.handleTimeout(instant(T0 + 1000));
  const req = sent[0];
  assert.ok(req, 'our Configure-Request');
  assert.deepEqual([...req.subarray(0, 2)], [0xc0, 0x21], 'LCP without Address/Control');
  // MRU option: type 1, length 4, value.
  const i = req.indexOf(1, 6);
  assert.equal(req[i + 1], 4);
  assert.equal(((req[i + 2] ?? 0) << 8) | (req[i + 3] ?? 0), 1492);
  assert.ok(b);
});
