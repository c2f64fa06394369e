// Two static pseudowires back to back on loopback (UDP 127.0.0.1 ports, raw IP 127.0.0.1 <-> 127.0.0.2),
// their TAPs moved into namespaces v3-<pid>-a / -b holding 198.18.77.1/24 and .2/24: a ping between
// the namespaces crosses both TAPs and both cores. Needs root (CI runs as root) and FAILS otherwise.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { StaticPseudowire, checkStaticPseudowireSettings, pseudowireSettingsOf, type StaticPseudowireSettings } from './static-pseudowire.js';
import { createNetns, deleteNetns, execInNetns, requireTunPrivileges } from '../../test/lib/tun-packets.js';
import { runIp } from './tun.js';

const NS_A = `v3-${process.pid}-a`;
const NS_B = `v3-${process.pid}-b`;

async function plumb(spw: StaticPseudowire, ns: string, addr: string): Promise<void> {
  await spw.tap.moveToNetns(ns);
  await runIp(['-n', ns, 'link', 'set', 'dev', spw.tap.name, 'mtu', '1500']);
  await runIp(['-n', ns, 'addr', 'add', addr, 'dev', spw.tap.name]);
  await runIp(['-n', ns, 'link', 'set', 'dev', spw.tap.name, 'up']);
}

async function pairUp(a: StaticPseudowireSettings, b: StaticPseudowireSettings): Promise<[StaticPseudowire, StaticPseudowire]> {
  const ra = await StaticPseudowire.open(a, { configureTap: false });
  const rb = await StaticPseudowire.open(b, { configureTap: false });
  assert.ok(ra.ok && rb.ok);
  await plumb(ra.value, NS_A, '198.18.77.1/24');
  await plumb(rb.value, NS_B, '198.18.77.2/24');
  return [ra.value, rb.value];
}

const base = {
  tunnelId: 1000,
  peerTunnelId: 2000,
  sessionId: 3000,
  peerSessionId: 4000,
  cookie: 'cafef00d',
  peerCookie: '0102030405060708',
  l2specType: 'default',
} as const;

/** B mirrors A. */
function mirror(a: StaticPseudowireSettings, local: string, remote: string): StaticPseudowireSettings {
  return {
    ...a,
    local,
    remote,
    tunnelId: a.peerTunnelId,
    peerTunnelId: a.tunnelId,
    sessionId: a.peerSessionId,
    peerSessionId: a.sessionId,
    ...(a.peerCookie !== undefined ? { cookie: a.peerCookie } : {}),
    ...(a.cookie !== undefined ? { peerCookie: a.cookie } : {}),
    ...(a.udpSourcePort !== undefined ? { udpSourcePort: a.udpDestinationPort, udpDestinationPort: a.udpSourcePort } : {}),
  };
}

describe('StaticPseudowire (kernel TAP + sockets)', () => {
  requireTunPrivileges();
  const open: StaticPseudowire[] = [];
  after(async () => {
    for (const s of open) s.close();
    await deleteNetns(NS_A);
    await deleteNetns(NS_B);
  });

  it('settings checks and the mapping to the core (Linux names)', () => {
    const s: StaticPseudowireSettings = { ...base, encap: 'udp', local: '127.0.0.1', remote: '127.0.0.1', seq: 'both' };
    assert.deepStrictEqual(checkStaticPseudowireSettings(s), []);
    const core = pseudowireSettingsOf(s);
    assert.deepStrictEqual([core.sendSequence, core.requireSequence, core.sublayer, core.txCookie.length, core.rxCookie.length], [true, true, 'default', 4, 8]);
    const bad = checkStaticPseudowireSettings({ ...s, cookie: 'abc', sessionId: 0, local: 'x', l2specType: 'none' });
    assert.equal(bad.length, 4, bad.join('; '));
  });

  for (const encap of ['udp', 'ip'] as const) {
    it(`ping crosses two static pseudowires over ${encap}, bad datagrams are counted`, async () => {
      await createNetns(NS_A);
      await createNetns(NS_B);
      try {
        const a: StaticPseudowireSettings =
          encap === 'udp'
            ? { ...base, encap, local: '127.0.0.1', remote: '127.0.0.1', udpSourcePort: 17801, udpDestinationPort: 17802, seq: 'both' }
            : { ...base, encap, local: '127.0.0.1', remote: '127.0.0.2' };
        const [pa, pb] = await pairUp(a, mirror(a, a.remote, a.local));
        open.push(pa, pb);
        const ping = await execInNetns(NS_A, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '-s', '1472', '198.18.77.2']);
        assert.equal(ping.code, 0, ping.stdout + ping.stderr);
        assert.match(ping.stdout, / 3 received/);
        if (encap === 'udp') {
          // a foreign sender and junk from it: dropped before the core
          const junk = createSocket('udp4');
          await new Promise<void>((r) => junk.send(Buffer.from('0003000000000bb8', 'hex'), 17802, '127.0.0.1', () => r()));
          junk.close();
          await new Promise((r) => setTimeout(r, 100));
          assert.equal(pb.transport.foreignSource, 1);
        }
        const sa = pa.status();
        const sb = pb.status();
        assert.ok(sa.pseudowire.txPackets >= 4 && sb.pseudowire.rxPackets >= 4, JSON.stringify(sb));
        assert.ok(sb.pseudowire.txPackets >= 4 && sa.pseudowire.rxPackets >= 4);
        assert.deepStrictEqual(sb.pseudowire.drops, { wrongCookie: 0, tooShort: 0, unsequenced: 0, outOfOrder: 0 });
        if (encap === 'udp') assert.ok(sb.pseudowire.sequencedReceived >= 4);
        pa.close();
        pb.close();
      } finally {
        await deleteNetns(NS_A);
        await deleteNetns(NS_B);
      }
    });
  }
});
