// The native L2TPv3 fast path (v3-fast-path.ts, native/v3_fast.cc) on DYNAMIC pseudowires (the `[l2tpv3]`
// shell, dynamic-pseudowire.ts): two shells on loopback, one dialing, one accepting, bring the control
// connection and an Ethernet session up (SCCRQ..ICCN, 4-byte cookies, through JS), then a ping between two
// namespaces crosses the pseudowire TAP <-> UDP and TAP <-> IP protocol 115: every data frame is counted by
// the addon, the JS core counts none (the session's counters equal the native ones, the demux saw only
// control, no TAP frame was handed to JS) — and the same ping with the fast path off is carried by JS.
// Needs root; namespaces e16d-<pid>-a/-b, UDP ports 17861/17862, raw IP 127.0.86.1 <-> 127.0.86.2 (addresses no other test uses: a raw IP socket sees every protocol-115 packet to its address).
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DynamicPseudowires } from './dynamic-pseudowire.js';
import { defaultTuning, resolveV3Profile, type V3ConnectionSettings } from '../l2tp/index.js';
import type { Duration } from '../base/index.js';
import { runIp } from './tun.js';
import { createNetns, deleteNetns, execInNetns, requireTunPrivileges } from '../../test/lib/tun-packets.js';

const NS_A = `e16d-${process.pid}-a`;
const NS_B = `e16d-${process.pid}-b`;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** One shell: the accepting side on 127.0.86.1, the dialing one on .1 (UDP, another port) or .2 (IP). */
async function shell(encap: 'udp' | 'ip', role: 'accept' | 'dial', fastPath: boolean, up: () => void): Promise<DynamicPseudowires> {
  const local = role === 'accept' || encap === 'udp' ? '127.0.86.1' : '127.0.86.2';
  const port = role === 'accept' ? 17861 : 17862;
  const pr = resolveV3Profile('linux', { pseudowire: { cookieLength: 4 } });
  assert.ok(pr.ok);
  const p = pr.value;
  const settings: V3ConnectionSettings = { hostName: `e16-${role}`, routerId: role === 'accept' ? 0x7f000001 : 0x7f000002, pwCapabilities: p.pwTypes, tuning: defaultTuning() };
  const engine = {
    encapsulation: encap, acceptConnections: role === 'accept', accept: settings,
    acceptPseudowires: { remoteEndIds: ['e16pw'], cookieLength: 4 as const, pwTypes: p.pwTypes, sequencing: false },
  };
  const peer = { address: '127.0.86.1', port: encap === 'ip' ? 0 : 17861, family: 4 as const };
  const dials = role === 'dial' ? [{ peer, settings, sessions: [{ remoteEndId: 'e16pw', pseudowire: p.pseudowire }], backoffInitial: 1000 as Duration, backoffMax: 5000 as Duration }] : [];
  return DynamicPseudowires.open({
    engine, dials, local, port, fastPath, circuitPollMs: 0,
    taps: [{ remoteEndId: 'e16pw', name: `e16d${process.pid.toString(36)}${role === 'accept' ? 'a' : 'b'}` }],
    onEvent: (e) => {
      if (e.type === 'v3-session-established') up();
    },
    onError: () => {},
  });
}

/** The fast path's counters of one session once they stopped moving for 300 ms (at most 3 s). */
async function settledCounters(s: DynamicPseudowires, sid: number): Promise<ReturnType<DynamicPseudowires['fastCounters']>> {
  const key = (): string => JSON.stringify(s.fastCounters(sid) ?? null);
  const end = Date.now() + 3000;
  let last = key();
  while (Date.now() < end) {
    await sleep(300);
    const now = key();
    if (now === last) break;
    last = now;
  }
  return s.fastCounters(sid);
}

describe('L2TPv3 native fast path on dynamic pseudowires (control connection + session, kernel TAPs)', { timeout: 120_000 }, () => {
  requireTunPrivileges();
  after(async () => {
    await deleteNetns(NS_A);
    await deleteNetns(NS_B);
  });

  for (const encap of ['udp', 'ip'] as const) {
    for (const fast of [true, false]) {
      it(`${encap}, fast path ${fast ? 'on: data frames never reach the JS core' : 'off: JS carries them'}`, async () => {
        await createNetns(NS_A);
        await createNetns(NS_B);
        const shells: DynamicPseudowires[] = [];
        try {
          let ups = 0;
          shells.push(await shell(encap, 'accept', fast, () => ups++));
          shells.push(await shell(encap, 'dial', fast, () => ups++));
          const end = Date.now() + 20_000;
          while (ups < 2 && Date.now() < end) await sleep(20);
          assert.equal(ups, 2, 'the session came up on both sides');
          for (const [s, ns, addr] of [[shells[0], NS_A, '198.18.78.1/24'], [shells[1], NS_B, '198.18.78.2/24']] as const) {
            assert.ok(s);
            assert.equal(s.fastPathError, undefined);
            const name = s.tapNames()['e16pw'] ?? '';
            await runIp(['link', 'set', 'dev', name, 'netns', ns]);
            // No IPv6 on the TAP: its DAD / router solicitations would keep frames arriving while we compare counters.
            await execInNetns(ns, 'sysctl', ['-q', '-w', `net.ipv6.conf.${name}.disable_ipv6=1`]);
            await runIp(['-n', ns, 'addr', 'add', addr, 'dev', name]);
            await runIp(['-n', ns, 'link', 'set', 'dev', name, 'up']);
          }
          const ping = await execInNetns(NS_A, 'ping', ['-c', '3', '-i', '0.2', '-W', '2', '-s', '1400', '198.18.78.2']);
          assert.equal(ping.code, 0, ping.stdout + ping.stderr);
          for (const s of shells) {
            const sid = s.status().sessions[0]?.localSessionId;
            assert.ok(sid !== undefined, 'one session');
            // Let the last frames land (an ARP can still be in flight), then read native and folded counters
            // back to back: a frame between the two reads would make them differ for a reason other than JS.
            const native = await settledCounters(s, sid);
            const st = s.status();
            const counted = st.sessions[0]?.counters;
            assert.ok(counted !== undefined);
            // ARP + three 1428-byte echo frames each way at least.
            assert.ok(counted.rxPackets >= 4 && counted.txPackets >= 4, JSON.stringify(counted));
            assert.equal(st.demux.unknownSession, 0);
            assert.ok(st.demux.control > 0, 'control went through JS');
            if (fast) {
              assert.ok(native !== undefined, 'installed natively');
              // status() folds the native counts into the session's: equal = the JS core counted none.
              assert.equal(counted.rxPackets, native.rxPackets, 'every received frame counted natively, none in JS');
              assert.equal(counted.txPackets, native.txPackets, 'every sent frame counted natively, none in JS');
              assert.equal(s.fastStats()?.tapToJs, 0, 'no TAP frame handed to JS');
              assert.equal(native.toJs, 0, 'no data datagram of the session handed to JS');
            } else {
              assert.equal(native, undefined);
              assert.equal(s.fastStats(), undefined);
            }
          }
        } finally {
          for (const s of shells) await s.close();
          await deleteNetns(NS_A);
          await deleteNetns(NS_B);
        }
      });
    }
  }
});
