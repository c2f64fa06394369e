/**
 * L2TPv3 over IPsec between two of our daemons (`bin/l2tpd.js`, `[l2tpv3] ipsec = true`): the
 * Yamaha RTX / Cisco "L2TPv3/IPsec" mode — IKEv1 Main Mode + Quick Mode with a pre-shared key, then
 * every L2TPv3 datagram (control and data) in transport-mode ESP. Once over UDP 1701 (Quick Mode IDs
 * UDP/1701), once over IP protocol 115 (IDs protocol 115, port 0), and once over UDP with the
 * initiator forcing ESP into UDP 4500 (`force_encapsulation`: the NAT-T path of both ends, RFC 3948):
 *
 *   [v3s-N-la 192.0.2.1] - brlan - TAP  site A 198.51.100.1 (initiator)  [v3s-N-a]
 *                                                |  veth, captured at B
 *   [v3s-N-lb 192.0.2.2] - brlan - TAP  site B 198.51.100.2 (responder)  [v3s-N-b]
 *
 * Checks: IKE SA, ESP SA and the pseudowire come up; ping (and a 1400-byte ping) between the LANs;
 * the responder's ESP flow counts packets both ways; L2TPv3 sent to B in the clear (from a third
 * address, 198.51.100.3) is refused and counted (require_ipsec, the default); a wrong PSK gets no
 * IKE SA and no pseudowire (auth failure logged); the capture between the sites is clean in tshark
 * (0 malformed, no error/warning expert items) and holds ISAKMP and ESP only — no L2TPv3 between
 * the two sites, in either direction. Needs root; FAILS (never skips) without it.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { it } from 'node:test';
import { analyzeCapture, describeReport, isClean, startCapture } from './lib/capture.js';
import { ensureDebianPackages, makeWorkDir, removeWorkDir, requireRoot, run, sleep } from './lib/host.js';
import { startL2tpd, type L2tpd } from './lib/l2tpd.js';
import { ipIn, sysctlIn } from './lib/netns.js';
import { trackNamespace, untrackNamespace } from './lib/process.js';

const A = '198.51.100.1';
const B = '198.51.100.2';
const PROBE = '198.51.100.3';
const LAN_A = '192.0.2.1';
const LAN_B = '192.0.2.2';
const PSK = 'v3s-ipsec-test-psk';

async function nsAdd(ns: string): Promise<void> {
  await run('ip', ['netns', 'add', ns]);
  trackNamespace(ns);
  sysctlIn(ns, 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
  ipIn(ns, ['link', 'set', 'lo', 'up']);
}

/** A veth pair between two namespaces (created inside them, never in the host). */
function link(a: string, ifa: string, addrA: string | undefined, b: string, ifb: string, addrB: string | undefined): void {
  ipIn(a, ['link', 'add', ifa, 'type', 'veth', 'peer', 'name', ifb, 'netns', b]);
  if (addrA !== undefined) ipIn(a, ['addr', 'add', addrA, 'dev', ifa]);
  if (addrB !== undefined) ipIn(b, ['addr', 'add', addrB, 'dev', ifb]);
  ipIn(a, ['link', 'set', ifa, 'up']);
  ipIn(b, ['link', 'set', ifb, 'up']);
}

/** A LAN namespace on a bridge `brlan` in `site` (the daemon's TAP joins it). */
function lan(site: string, lanNs: string, addr: string): void {
  ipIn(site, ['link', 'add', 'brlan', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
  ipIn(site, ['link', 'set', 'brlan', 'up']);
  link(site, 'v3slan0', undefined, lanNs, 'eth0', `${addr}/24`);
  ipIn(site, ['link', 'set', 'v3slan0', 'master', 'brlan']);
}

/** The `[l2tpv3]` part of a site's l2tpd.toml. */
function v3Toml(o: { readonly local: string; readonly peer?: string; readonly encapsulation: 'udp' | 'ip'; readonly psk: string; readonly natt?: boolean }): string {
  const pw = o.peer !== undefined ? `peer = "${o.peer}:1701"` : 'peer_host_name = "site-a"';
  return [
    '[ppp]', 'enabled = false', '[ipsec]', 'enabled = false',
    '[l2tpv3]', `listen = "${o.local}:1701"`, 'profile = "linux"', `encapsulation = "${o.encapsulation}"`, 'keepalive_interval = 5', 'redial_initial = 1', 'redial_max = 3',
    'ipsec = true', `psk = "${o.psk}"`, ...(o.natt === true ? ['force_encapsulation = true'] : []),
    '[[l2tpv3.pseudowire]]', 'name = "lan1"', pw, 'tap = "v3stap0"', 'bridge = "brlan"', '',
  ].join('\n');
}

interface V3Status {
  readonly l2tpv3?: {
    readonly connections: readonly { readonly state: string; readonly sessions: readonly { readonly state: string; readonly rxPackets: number; readonly txPackets: number }[] }[];
    readonly ipsec?: { readonly counters: { readonly clearRefused: number; readonly txNoFlow: number; readonly espDropped: number }; readonly flows: readonly { readonly remote: { readonly address: string }; readonly encapsulation: string; readonly packetsIn: number; readonly packetsOut: number }[] };
  };
}

async function statusOf(d: L2tpd): Promise<V3Status> {
  return JSON.parse(await d.ctl(['show', 'status', '--json'])) as V3Status;
}

const ping = (ns: string, to: string, extra: readonly string[] = []): Promise<{ code: number | null; stdout: string }> =>
  run('ip', ['netns', 'exec', ns, 'ping', '-c', '3', '-i', '0.3', '-W', '2', '-w', '20', ...extra, to], { check: false, timeoutMs: 30_000 });

const tsharkCount = async (file: string, filter: string): Promise<number> =>
  (await run('tshark', ['-n', '-r', file, '-Y', filter], { timeoutMs: 60_000 })).stdout.split('\n').filter((l) => l.trim() !== '').length;

/**
 * A well-formed L2TPv3 SCCRQ header with its Message Type AVP (RFC 3931 §3.2.1, §5.4.1), sent in the
 * clear from PROBE: over UDP to B:1701, over IP as protocol 115 (Session ID 0 first, §4.1.1.2).
 */
function probeScript(encapsulation: 'udp' | 'ip'): string {
  return [
    'import socket, struct',
    "avp = struct.pack('!HHHH', 0x8008, 0, 0, 1)",
    "ctl = struct.pack('!HHIHH', 0xc803, 12 + len(avp), 0, 0, 0) + avp",
    encapsulation === 'udp'
      ? `s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('${PROBE}', 41701)); [s.sendto(ctl, ('${B}', 1701)) for _ in range(3)]`
      : `s = socket.socket(socket.AF_INET, socket.SOCK_RAW, 115); s.bind(('${PROBE}', 0)); [s.sendto(b'\\0\\0\\0\\0' + ctl, ('${B}', 0)) for _ in range(3)]`,
  ].join('\n');
}

const SESSION_UP = /session \d+ \(lan1\) established/;

const CASES = [
  { encapsulation: 'udp', natt: false, label: 'UDP 1701, raw ESP' },
  { encapsulation: 'ip', natt: false, label: 'IP protocol 115, raw ESP' },
  { encapsulation: 'udp', natt: true, label: 'UDP 1701, ESP in UDP 4500' },
] as const;

for (const { encapsulation, natt, label } of CASES) {
  it(`L2TPv3 over IPsec (${label}) between two l2tpd: IKE, ESP, pseudowire, ping, clear v3 refused, wrong PSK refused, capture only ESP`, { timeout: 180_000 }, async (t) => {
    requireRoot();
    await ensureDebianPackages(['tshark', 'iproute2', 'iputils-ping', 'python3']);
    const tag = `${process.pid % 10000}${encapsulation === 'udp' ? 'u' : 'i'}${natt ? 'n' : ''}`;
    const ns = { a: `v3s-${tag}-a`, b: `v3s-${tag}-b`, la: `v3s-${tag}-la`, lb: `v3s-${tag}-lb` };
    const dir = makeWorkDir(`v3s-ipsec-${encapsulation}${natt ? '-natt' : ''}`);
    const daemons: L2tpd[] = [];
    let ok = false;
    try {
      for (const n of Object.values(ns)) await nsAdd(n);
      link(ns.a, 'v3sw0', `${A}/24`, ns.b, 'v3sw1', `${B}/24`);
      ipIn(ns.a, ['addr', 'add', `${PROBE}/24`, 'dev', 'v3sw0']);
      lan(ns.a, ns.la, LAN_A);
      lan(ns.b, ns.lb, LAN_B);
      const pcap = join(dir, 'wan.pcap');
      const cap = await startCapture(ns.b, 'v3sw1', pcap, { filter: 'ip', maxSeconds: 150 });

      // 1. The responder, then the initiator: IKE SA, ESP SA, control connection and session.
      const resp = await startL2tpd({ ns: ns.b, dir: join(dir, 'b'), hostName: 'site-b', lifetimeMs: 170_000, extraToml: v3Toml({ local: B, encapsulation, psk: PSK }) });
      daemons.push(resp);
      let init = await startL2tpd({ ns: ns.a, dir: join(dir, 'a'), hostName: 'site-a', lifetimeMs: 170_000, extraToml: v3Toml({ local: A, peer: B, encapsulation, psk: PSK, natt }) });
      daemons.push(init);
      await init.waitLog(SESSION_UP, 30_000);
      await resp.waitLog(SESSION_UP, 10_000);
      await init.waitLog(/ipsec: .* up from 198\.51\.100\.2/, 1000);

      // 2. Ping between the LANs across the bridged TAPs, also with larger frames.
      const p1 = await ping(ns.la, LAN_B);
      assert.equal(p1.code, 0, `ping A -> B\n${p1.stdout}`);
      const p2 = await ping(ns.lb, LAN_A, ['-s', '1400']);
      assert.equal(p2.code, 0, `1400-byte ping B -> A\n${p2.stdout}`);
      const st = await statusOf(resp);
      const flow = st.l2tpv3?.ipsec?.flows[0];
      assert.ok(flow !== undefined && flow.remote.address === A, JSON.stringify(st.l2tpv3?.ipsec));
      assert.equal(flow.encapsulation, natt ? 'udp-transport' : 'transport', natt ? 'forced: ESP in UDP 4500' : 'no NAT: raw ESP (IP protocol 50)');
      assert.ok(flow.packetsIn >= 6 && flow.packetsOut >= 6, JSON.stringify(flow));
      const sess = st.l2tpv3?.connections[0]?.sessions[0];
      assert.ok(sess !== undefined && sess.rxPackets >= 6 && sess.txPackets >= 6, JSON.stringify(st.l2tpv3?.connections));
      t.diagnostic(`ping ok; responder ESP flow in ${flow.packetsIn} out ${flow.packetsOut}; session rx ${sess.rxPackets} tx ${sess.txPackets}`);

      // 3. L2TPv3 in the clear is refused (counted, logged once) and never answered.
      await run('ip', ['netns', 'exec', ns.a, 'python3', '-c', probeScript(encapsulation)], { timeoutMs: 10_000 });
      await resp.waitLog(/outside IPsec refused/, 5000);
      const st2 = await statusOf(resp);
      assert.ok((st2.l2tpv3?.ipsec?.counters.clearRefused ?? 0) >= 3, JSON.stringify(st2.l2tpv3?.ipsec?.counters));
      assert.equal(st2.l2tpv3?.connections.length, 1, 'the clear SCCRQ opened no connection');

      // 4. A wrong PSK: Main Mode fails at message 5 (the keys derive from the PSK), no pseudowire.
      await init.stop();
      await resp.waitLog(/session \d+ closed|TUNNEL\[\d+\] disconnected/, 15_000);
      init = await startL2tpd({ ns: ns.a, dir: join(dir, 'a-wrong'), hostName: 'site-a', lifetimeMs: 120_000, extraToml: v3Toml({ local: A, peer: B, encapsulation, psk: 'not-the-psk' }) });
      daemons.push(init);
      const fail = await resp.waitLog(/exchange with 198\.51\.100\.1 failed/, 20_000);
      t.diagnostic(`wrong PSK: ${fail.msg}`);
      await sleep(3000);
      assert.ok(!init.log().some((l) => SESSION_UP.test(l.msg) || /ipsec: .* up from/.test(l.msg)), 'the wrong PSK got an SA or a session');
      const st3 = await statusOf(resp);
      assert.ok((st3.l2tpv3?.connections ?? []).every((c) => c.state !== 'established'), JSON.stringify(st3.l2tpv3?.connections));
      await init.stop();
      await resp.stop();
      await cap.stop();

      // 5. The capture between the sites: clean, ISAKMP and ESP only — no L2TPv3 between A and B.
      const sites = join(dir, 'sites.pcap');
      await run('tshark', ['-n', '-r', pcap, '-Y', `ip.addr==${A} && ip.addr==${B}`, '-w', sites], { timeoutMs: 60_000 });
      const rep = await analyzeCapture(sites);
      assert.ok(isClean(rep), describeReport(rep));
      // ESP by IP protocol (or in UDP 4500): a 1400-byte ping makes the outer packet fragment (first fragments show as "data").
      const esp = await tsharkCount(sites, natt ? 'esp' : 'ip.proto==50');
      const isakmp = await tsharkCount(sites, 'isakmp');
      const clear = await tsharkCount(sites, 'l2tp || udp.port==1701 || ip.proto==115');
      // ICMP: A's kernel answers "protocol unreachable" to B's last ESP (the ack of A's StopCCN) once A's daemon is gone.
      const espOrFragment = natt ? '(udp.port==4500 || (ip.flags.mf==1 && ip.frag_offset==0))' : 'ip.proto==50';
      const other = await tsharkCount(sites, `!(${espOrFragment}) && !isakmp && !arp && !(icmp.type==3 && (icmp.code==2 || icmp.code==3))`);
      assert.ok(esp >= 20 && isakmp >= 6, `esp ${esp}, isakmp ${isakmp}`);
      assert.equal(clear, 0, 'L2TPv3 in the clear between the sites');
      assert.equal(other, 0, 'something else than ISAKMP / ESP between the sites');
      const probes = await tsharkCount(pcap, `ip.src==${PROBE} && (udp.dstport==1701 || ip.proto==115)`);
      const answers = await tsharkCount(pcap, `ip.dst==${PROBE}`);
      assert.ok(probes >= 3 && answers === 0, `clear probes ${probes}, answers ${answers}`);
      t.diagnostic(`capture: ${rep.packets} packets between the sites (${esp} ESP, ${isakmp} ISAKMP, 0 L2TPv3 in the clear), 0 malformed; ${probes} clear probes unanswered`);
      ok = true;
    } finally {
      for (const d of daemons) await d.stop().catch(() => undefined);
      for (const n of Object.values(ns)) {
        await run('ip', ['netns', 'del', n], { check: false });
        untrackNamespace(n);
      }
      if (ok) removeWorkDir(dir);
      else t.diagnostic(`work dir kept: ${dir}`);
    }
  });
}
