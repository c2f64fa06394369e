// The native L2TPv3 fast path (v3-fast-path.ts, native/v3_fast.cc) on static pseudowires: with it on,
// data frames of an open pseudowire never reach the JS core (its own counters stay 0 while the native
// ones count them), and every class of exception does, counted exactly as without it: control (T bit /
// Session ID 0), unknown session, wrong cookie, wrong source, sequenced sublayer. Loopback only (UDP
// 127.0.0.1 ports, raw IP 127.0.0.1 <-> 127.0.0.2); namespaces h16v-<pid>-a/-b for the ping. Needs root.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket, type Socket } from 'node:dgram';
import { StaticPseudowire, type StaticPseudowireSettings } from './static-pseudowire.js';
import { IPPROTO_L2TP, RawIpSocket } from './raw-socket.js';
import { createNetns, deleteNetns, execInNetns, requireTunPrivileges } from '../../test/lib/tun-packets.js';
import { runIp } from './tun.js';

const NS_A = `h16v-${process.pid}-a`;
const NS_B = `h16v-${process.pid}-b`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const base = { tunnelId: 1, peerTunnelId: 2, sessionId: 3000, peerSessionId: 4000, cookie: 'cafef00d', peerCookie: '0102030405060708', l2specType: 'default' } as const;

/** The other end of `a` (cookies and ports swapped). */
function mirror(a: StaticPseudowireSettings): StaticPseudowireSettings {
  const { cookie, peerCookie, udpSourcePort, udpDestinationPort, ...rest } = a;
  return {
    ...rest,
    local: a.remote,
    remote: a.local,
    sessionId: a.peerSessionId,
    peerSessionId: a.sessionId,
    ...(peerCookie !== undefined ? { cookie: peerCookie } : {}),
    ...(cookie !== undefined ? { peerCookie: cookie } : {}),
    ...(udpSourcePort !== undefined && udpDestinationPort !== undefined ? { udpSourcePort: udpDestinationPort, udpDestinationPort: udpSourcePort } : {}),
  };
}

/** An Ethernet frame (broadcast, local experimental EtherType 0x88b5) of `n` bytes. */
const frame = (n = 60): Buffer => Buffer.concat([Buffer.from('ffffffffffff02000000000188b5', 'hex'), Buffer.alloc(n - 14, 0x5a)]);
const u32 = (v: number): Buffer => Buffer.from([v >>> 24, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff]);

describe('L2TPv3 native fast path (static pseudowires, kernel TAP + sockets)', () => {
  requireTunPrivileges();
  const open: { close(): void }[] = [];
  after(async () => {
    for (const s of open) s.close();
    await deleteNetns(NS_A);
    await deleteNetns(NS_B);
  });

  for (const encap of ['udp', 'ip'] as const) {
    it(`ping crosses two fast pseudowires over ${encap}: every data frame stays native, none reaches the JS core`, async () => {
      await createNetns(NS_A);
      await createNetns(NS_B);
      try {
        const a: StaticPseudowireSettings =
          encap === 'udp'
            ? { ...base, encap, local: '127.0.0.1', remote: '127.0.0.1', udpSourcePort: 17821, udpDestinationPort: 17822 }
            : { tunnelId: 1, peerTunnelId: 2, sessionId: 3000, peerSessionId: 4000, encap, local: '127.0.0.1', remote: '127.0.0.2', peerCookie: 'a1b2c3d4', l2specType: 'none' };
        const pws: StaticPseudowire[] = [];
        for (const [s, ns, addr] of [[a, NS_A, '198.18.77.1/24'], [mirror(a), NS_B, '198.18.77.2/24']] as const) {
          const r = await StaticPseudowire.open(s, { configureTap: false, fastPath: true });
          assert.ok(r.ok);
          open.push(r.value);
          pws.push(r.value);
          assert.equal(r.value.fastPathError, undefined);
          await r.value.tap.moveToNetns(ns);
          await runIp(['-n', ns, 'addr', 'add', addr, 'dev', r.value.tap.name]);
          await runIp(['-n', ns, 'link', 'set', 'dev', r.value.tap.name, 'up']);
        }
        const ping = await execInNetns(NS_A, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '-s', '1400', '198.18.77.2']);
        assert.equal(ping.code, 0, ping.stdout + ping.stderr);
        for (const p of pws) {
          const st = p.status();
          // The JS core saw no frame either way; the native path carried them all (ARP + 3 pings each way at least).
          assert.equal(p.pseudowire.counters.rxPackets, 0);
          assert.equal(p.pseudowire.counters.txPackets, 0);
          assert.ok((st.fast?.rxPackets ?? 0) >= 4 && (st.fast?.txPackets ?? 0) >= 4, JSON.stringify(st.fast));
          assert.equal(st.pseudowire.rxPackets, st.fast?.rxPackets);
          assert.equal(p.fastStats()?.tapToJs, 0);
        }
        for (const p of pws) p.close();
      } finally {
        await deleteNetns(NS_A);
        await deleteNetns(NS_B);
      }
    });
  }

  it('udp: data from the peer stays native; control, unknown session, bad cookie, wrong source, sequenced reach JS, counted exactly', async () => {
    const s: StaticPseudowireSettings = { ...base, encap: 'udp', local: '127.0.0.1', remote: '127.0.0.1', udpSourcePort: 17832, udpDestinationPort: 17831 };
    const r = await StaticPseudowire.open(s, { fastPath: true });
    assert.ok(r.ok);
    const pw = r.value;
    open.push(pw);
    const bind = async (port: number): Promise<Socket> => {
      const k = createSocket('udp4');
      open.push({ close: () => k.close() });
      await new Promise<void>((res) => k.bind(port, '127.0.0.1', () => res()));
      return k;
    };
    const peer = await bind(17831);
    const other = await bind(0);
    const send = (k: Socket, b: Buffer): Promise<void> => new Promise((res) => k.send(b, 17832, '127.0.0.1', () => res()));
    const data = (sid: number, cookie: string, sub = '00000000'): Buffer => Buffer.concat([Buffer.from('00030000', 'hex'), u32(sid), Buffer.from(cookie + sub, 'hex'), frame()]);
    const good = data(3000, '0102030405060708');
    for (let i = 0; i < 5; i++) await send(peer, good);
    await send(peer, Buffer.from('c8030014000000000000000000000000', 'hex').subarray(0, 12)); // control (T, L, Ver 3)
    await send(peer, data(3999, '0102030405060708')); // unknown session
    await send(peer, data(3000, '01020304050607ff')); // wrong cookie
    await send(other, good); // wrong source port
    await send(peer, data(3000, '0102030405060708', '40000007')); // sequenced default sublayer: JS tracks it
    await sleep(200);
    const st = pw.status();
    assert.deepStrictEqual(
      { js: pw.pseudowire.counters.rxPackets, fast: st.fast?.rxPackets, control: st.demux.control, unknown: st.demux.unknownSession, cookie: st.pseudowire.drops.wrongCookie, foreign: st.transport.foreignSource, seq: st.pseudowire.sequencedReceived },
      { js: 1, fast: 5, control: 1, unknown: 1, cookie: 1, foreign: 1, seq: 1 },
    );
    assert.equal(st.pseudowire.rxPackets, 6);
    assert.equal(pw.fastStats()?.netToJs, 5);
    assert.equal(pw.fastStats()?.netFast, 5);
  });

  it('ip: data from the peer stays native; Session ID 0, unknown session, bad cookie, wrong source reach JS, counted exactly', async () => {
    const s: StaticPseudowireSettings = { ...base, encap: 'ip', local: '127.0.0.1', remote: '127.0.0.2', sessionId: 5000, peerCookie: 'a1b2c3d4', l2specType: 'none' };
    const r = await StaticPseudowire.open(s, { fastPath: true });
    assert.ok(r.ok);
    const pw = r.value;
    open.push(pw);
    const peer = RawIpSocket.open({ protocol: IPPROTO_L2TP, bindAddress: '127.0.0.2' });
    const other = RawIpSocket.open({ protocol: IPPROTO_L2TP, bindAddress: '127.0.0.3' });
    open.push(peer, other);
    const to = 0x7f000001;
    const data = (sid: number, cookie: string): Buffer => Buffer.concat([u32(sid), Buffer.from(cookie, 'hex'), frame()]);
    for (let i = 0; i < 5; i++) peer.sendToNumber(data(5000, 'a1b2c3d4'), to);
    peer.sendToNumber(Buffer.concat([u32(0), Buffer.from('c8030014000000000000000000000000', 'hex')]), to); // control
    peer.sendToNumber(data(5999, 'a1b2c3d4'), to); // unknown session
    peer.sendToNumber(data(5000, 'a1b2c3ff'), to); // wrong cookie
    other.sendToNumber(data(5000, 'a1b2c3d4'), to); // wrong source address
    await sleep(200);
    const st = pw.status();
    assert.deepStrictEqual(
      { js: pw.pseudowire.counters.rxPackets, fast: st.fast?.rxPackets, control: st.demux.control, unknown: st.demux.unknownSession, cookie: st.pseudowire.drops.wrongCookie, foreign: st.transport.foreignSource },
      { js: 0, fast: 5, control: 1, unknown: 1, cookie: 1, foreign: 1 },
    );
    assert.equal(pw.fastStats()?.netFast, 5);
  });

  it('seq on or the MSS clamp: the fast path stays off and says why', async () => {
    const r = await StaticPseudowire.open({ ...base, encap: 'udp', local: '127.0.0.1', remote: '127.0.0.1', udpSourcePort: 17842, udpDestinationPort: 17841, seq: 'both' }, { fastPath: true });
    assert.ok(r.ok);
    open.push(r.value);
    assert.match(r.value.fastPathError ?? '', /sequencing/);
    assert.equal(r.value.fastStats(), undefined);
  });
});
