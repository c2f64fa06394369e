/**
 * Our L2TPv3/IPsec initiator (`bin/l2tpd.js`, `[l2tpv3] ipsec = true`, an always-on Ethernet
 * pseudowire to a TAP bridged with a LAN namespace) against SoftEther VPN Server 5.01 (Debian
 * `softether-vpnserver`), whose "EtherIP / L2TPv3 over IPsec" server puts the pseudowire into a
 * Virtual Hub. The LAN namespace pings the hub's SecureNAT virtual host (100.64.3.1) through it.
 *
 *   [v3s-N-sl 100.64.3.50] - brlan - TAP  l2tpd 198.51.100.1  [v3s-N-sa]
 *                                            |  veth, captured at SoftEther
 *                          SoftEther vpnserver 198.51.100.5  [v3s-N-se]  hub DEFAULT, SecureNAT 100.64.3.1
 *
 * What SoftEther accepts, from its source (src/Cedar/Proto_L2TP.c, Proto_IKE.c, Proto_EtherIP.c):
 * - IPsec: `IPsecEnable /ETHERIP:yes` (the same switch serves EtherIP and L2TPv3); the IKEv1 Phase 1
 *   ID of the initiator (for us ID_IPV4_ADDR, which SoftEther prints as "198.51.100.1") picks the
 *   hub and user through `EtherIpClientAdd ID /HUB /USERNAME /PASSWORD` ("*" would match any).
 *   SoftEther fakes NAT-D, so ESP always runs in UDP 4500 (RFC 3948), even without a NAT.
 * - L2TPv3 over UDP 1701 inside ESP is its "YAMAHA" variant (ParseL2TPPacket: version 3 on a real
 *   UDP port -> IsYamahaV3): SCCRP has Host Name, Vendor Name "YAMAHA Corporation", Router ID 0,
 *   Assigned Control Connection ID and the PW Capabilities List (5, 4); ICRP a Local Session ID and
 *   Circuit Status, no Remote End ID, no cookie and no L2-Specific Sublayer AVP. Data is header
 *   0x00030000 + Session ID + the Ethernet frame: no cookie, no sublayer -> our "yamaha" profile.
 * - L2TPv3 over IP protocol 115 inside ESP (next header 115, transport mode) is its "Cisco" variant
 *   (port IPSEC_PORT_L2TPV3_VIRTUAL): control after a zero Session ID, data = Session ID + frame,
 *   again without cookie or sublayer -> our "cisco" profile with cookie_length = 0. SoftEther
 *   accepts our protocol-115 Quick Mode IDs and answers the SCCRQ inside ESP, but its SCCRP for
 *   this variant (the non-Yamaha branch of the SCCRQ handler) carries the RFC 2661 Protocol Version
 *   AVP (type 2) with the M bit set and Framing Capabilities (3), and no Router ID. RFC 3931 has no
 *   Protocol Version AVP (the version is in the header) and §5.2 says an unrecognized M=1 AVP ends
 *   the control connection; §6.2 makes Router ID mandatory in SCCRP. We therefore answer StopCCN
 *   (result 2, error 8 "unknown mandatory AVP"); the IP test asserts exactly that — a documented
 *   refusal, not an interop pass. (A Cisco peer sends its own vendor AVPs, for which SoftEther
 *   switches to its IsCiscoV3 replies; we send none.)
 * - It cannot authenticate the control connection (no Message Digest, no Challenge; hidden AVPs make
 *   ParseL2TPPacket fail): no `[l2tpv3] secret` — the IPsec SA is the authentication.
 * - Bug in 5.01 (Debian 5.01.9674): after the first tunnel on a socket is torn down it may stop
 *   answering SCCRQs, so every test starts a fresh vpnserver with a fresh state directory.
 *
 * vpnserver has its state, log and pid paths compiled in (/var/lib/softether, /var/log/softether,
 * /run/softether): it runs in a private mount namespace (`unshare -m`) with temp directories bound
 * over /var/lib, /var/log and /run, and /etc/resolv.conf pointing at 127.0.0.1 — the namespace has
 * no route out, so its DDNS / keep-alive features reach nothing. Needs root; FAILS without it.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { analyzeCapture, describeReport, isClean, startCapture } from './lib/capture.js';
import { ensureDebianPackages, makeWorkDir, removeWorkDir, requireRoot, run, waitUntil } from './lib/host.js';
import { startL2tpd, type L2tpd } from './lib/l2tpd.js';
import { ipIn, sysctlIn } from './lib/netns.js';
import { spawnIn, trackNamespace, untrackNamespace, type ManagedProcess } from './lib/process.js';

const US = '198.51.100.1';
const SE = '198.51.100.5';
const LAN = '100.64.3.50';
const SECURENAT = '100.64.3.1';
/** SoftEther refuses nothing shorter; ours needs at least 8 characters. */
const PSK = 'v3spsk12';
const VPNSERVER = '/usr/libexec/softether/vpnserver/vpnserver';

async function nsAdd(ns: string): Promise<void> {
  await run('ip', ['netns', 'add', ns]);
  trackNamespace(ns);
  sysctlIn(ns, 'net.ipv6.conf.all.disable_ipv6=1', 'net.ipv6.conf.default.disable_ipv6=1');
  ipIn(ns, ['link', 'set', 'lo', 'up']);
}

/** The private mount namespace prefix: temp dirs over the compiled-in paths, then `exec "$@"`. */
function wrapped(state: string): string[] {
  const m = (a: string, b: string): string => `mount --bind ${a} ${b}`;
  const script = [m(join(state, 'resolv.conf'), '/etc/resolv.conf'), m(join(state, 'varlib'), '/var/lib'), m(join(state, 'varlog'), '/var/log'), m(join(state, 'run'), '/run'), 'exec "$@"'].join(' && ');
  return ['unshare', '-m', '--propagation', 'private', 'sh', '-c', script, 'sh'];
}

interface SoftEther {
  readonly proc: ManagedProcess;
  /** `vpncmd localhost:5555 /SERVER [/HUB:DEFAULT] /CSV /CMD ...`; stdout. */
  cmd(args: readonly string[], hub?: boolean): Promise<string>;
  serverLog(): string;
  stop(): Promise<void>;
}

/** A fresh vpnserver in `ns` with its state under `state`, configured for L2TPv3 over IPsec. */
async function startSoftEther(ns: string, state: string): Promise<SoftEther> {
  for (const d of ['varlib/softether', 'varlog/softether', 'run/softether']) mkdirSync(join(state, d), { recursive: true });
  writeFileSync(join(state, 'resolv.conf'), 'nameserver 127.0.0.1\n');
  const w = wrapped(state);
  const [head, ...rest] = w;
  // `execsvc`: the foreground service mode (a watchdog parent and the server child, both in `ns`).
  const proc = spawnIn(ns, head ?? 'unshare', [...rest, VPNSERVER, 'execsvc'], { name: `vpnserver@${ns}`, lifetimeMs: 170_000, logFile: join(state, 'vpnserver.out') });
  const cmd = async (args: readonly string[], hub = false): Promise<string> =>
    (await run('ip', ['netns', 'exec', ns, ...w, 'vpncmd', 'localhost:5555', '/SERVER', ...(hub ? ['/HUB:DEFAULT'] : []), '/CSV', '/CMD', ...args], { timeoutMs: 30_000 })).stdout;
  await waitUntil('vpnserver admin port 5555', async () => ((await run('ip', ['netns', 'exec', ns, 'ss', '-ltn'], { check: false })).stdout.includes(':5555 ') ? true : undefined), 30_000, () => proc.output());
  await cmd(['IPsecEnable', '/L2TP:no', '/L2TPRAW:no', '/ETHERIP:yes', `/PSK:${PSK}`, '/DEFAULTHUB:DEFAULT']);
  await cmd(['UserCreate', 'v3s', '/GROUP:none', '/REALNAME:none', '/NOTE:none'], true);
  await cmd(['UserPasswordSet', 'v3s', '/PASSWORD:v3s-hub-pass'], true);
  // Phase 1 ID -> hub and user (Proto_EtherIP.c SearchEtherIPId; our IDii is ID_IPV4_ADDR).
  await cmd(['EtherIpClientAdd', US, '/HUB:DEFAULT', '/USERNAME:v3s', '/PASSWORD:v3s-hub-pass']);
  await cmd(['SecureNatHostSet', '/MAC:none', `/IP:${SECURENAT}`, '/MASK:255.255.255.0'], true);
  await cmd(['DhcpSet', '/START:100.64.3.10', '/END:100.64.3.40', '/MASK:255.255.255.0', '/EXPIRE:7200', `/GW:${SECURENAT}`, `/DNS:${SECURENAT}`, '/DNS2:none', '/DOMAIN:none', '/LOG:yes', '/PUSHROUTE:none'], true);
  await cmd(['NatDisable'], true);
  await cmd(['SecureNatEnable'], true);
  const got = await cmd(['IPsecGet']);
  assert.match(got, /EtherIP \/ L2TPv3 over IPsec Server Function Enabled,Yes/, got);
  await waitUntil('vpnserver IKE port 500', async () => ((await run('ip', ['netns', 'exec', ns, 'ss', '-lun'], { check: false })).stdout.includes(':500 ') ? true : undefined), 15_000);
  const logDir = join(state, 'varlog', 'softether', 'server_log');
  return {
    proc,
    cmd,
    serverLog: () => (existsSync(logDir) ? readdirSync(logDir).map((f) => readFileSync(join(logDir, f), 'utf8')).join('\n') : ''),
    async stop(): Promise<void> {
      // `vpnserver stop` signals the server through its pid file; whatever is left in ns is ours.
      await run('ip', ['netns', 'exec', ns, ...w, VPNSERVER, 'stop'], { check: false, timeoutMs: 20_000 });
      await proc.stop(3000);
      const pids = (await run('ip', ['netns', 'pids', ns], { check: false })).stdout.split('\n').map((x) => Number(x.trim())).filter((x) => x > 0);
      for (const pid of pids) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    },
  };
}

/** Our side: the yamaha profile over UDP, or cisco (cookie 0) over IP protocol 115; no tunnel auth. */
function v3Toml(encapsulation: 'udp' | 'ip'): string {
  return [
    '[ppp]', 'enabled = false', '[ipsec]', 'enabled = false',
    '[l2tpv3]', `listen = "${US}:1701"`, `profile = "${encapsulation === 'udp' ? 'yamaha' : 'cisco'}"`, `encapsulation = "${encapsulation}"`, 'redial_initial = 1', 'redial_max = 5',
    'ipsec = true', `psk = "${PSK}"`,
    '[[l2tpv3.pseudowire]]', 'name = "lan1"', `peer = "${SE}:1701"`, 'tap = "v3stap0"', 'bridge = "brlan"', ...(encapsulation === 'ip' ? ['cookie_length = 0'] : []), '',
  ].join('\n');
}

const SESSION_UP = /session \d+ \(lan1\) established/;

const title = (e: 'udp' | 'ip'): string =>
  e === 'udp'
    ? "SoftEther L2TPv3/IPsec server (Yamaha-style UDP 1701): our initiator's pseudowire reaches the Virtual Hub, ping to SecureNAT"
    : 'SoftEther L2TPv3/IPsec server (Cisco-style IP protocol 115): IKE with protocol-115 IDs and ESP work; its SCCRP (mandatory RFC 2661 Protocol Version AVP, no Router ID) is refused with StopCCN error 8';

for (const encapsulation of ['udp', 'ip'] as const) {
  it(title(encapsulation), { timeout: 180_000 }, async (t) => {
    requireRoot();
    await ensureDebianPackages(['softether-vpnserver', 'softether-vpncmd', 'tshark', 'iproute2', 'iputils-ping', 'util-linux']);
    const tag = `${process.pid % 10000}${encapsulation === 'udp' ? 'u' : 'i'}`;
    const ns = { se: `v3s-${tag}-se`, sa: `v3s-${tag}-sa`, sl: `v3s-${tag}-sl` };
    const dir = makeWorkDir(`v3s-softether-${encapsulation}`);
    let se: SoftEther | undefined;
    let us: L2tpd | undefined;
    let ok = false;
    try {
      for (const n of Object.values(ns)) await nsAdd(n);
      ipIn(ns.sa, ['link', 'add', 'v3sw0', 'type', 'veth', 'peer', 'name', 'v3sw1', 'netns', ns.se]);
      ipIn(ns.sa, ['addr', 'add', `${US}/24`, 'dev', 'v3sw0']);
      ipIn(ns.se, ['addr', 'add', `${SE}/24`, 'dev', 'v3sw1']);
      ipIn(ns.sa, ['link', 'set', 'v3sw0', 'up']);
      ipIn(ns.se, ['link', 'set', 'v3sw1', 'up']);
      ipIn(ns.sa, ['link', 'add', 'brlan', 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0']);
      ipIn(ns.sa, ['link', 'set', 'brlan', 'up']);
      ipIn(ns.sa, ['link', 'add', 'v3slan0', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns.sl]);
      ipIn(ns.sa, ['link', 'set', 'v3slan0', 'master', 'brlan']);
      ipIn(ns.sa, ['link', 'set', 'v3slan0', 'up']);
      ipIn(ns.sl, ['addr', 'add', `${LAN}/24`, 'dev', 'eth0']);
      ipIn(ns.sl, ['link', 'set', 'eth0', 'up']);

      se = await startSoftEther(ns.se, join(dir, 'softether'));
      const pcap = join(dir, 'wan.pcap');
      const cap = await startCapture(ns.se, 'v3sw1', pcap, { filter: 'ip', maxSeconds: 120 });
      us = await startL2tpd({ ns: ns.sa, dir: join(dir, 'l2tpd'), hostName: 'v3s-branch', lifetimeMs: 150_000, extraToml: v3Toml(encapsulation) });
      if (encapsulation === 'ip') {
        const sa = await us.waitLog(/ipsec: .* up from 198\.51\.100\.5/, 30_000);
        const stop = await us.waitLog(/send StopCCN/, 30_000);
        assert.match(JSON.stringify(stop.raw['avps']), /error 8 \(Unknown mandatory AVP\)/, JSON.stringify(stop.raw));
        assert.ok(!us.log().some((l) => SESSION_UP.test(l.msg)), 'no pseudowire');
        t.diagnostic(`ours: ${sa.msg}; SoftEther's SCCRP refused: ${JSON.stringify(stop.raw['avps'])}`);
        await us.stop();
        await cap.stop();
        const rep = await analyzeCapture(pcap);
        assert.ok(isClean(rep), describeReport(rep));
        const clear = (await run('tshark', ['-n', '-r', pcap, '-Y', 'l2tp || udp.port==1701 || ip.proto==115'], { timeoutMs: 60_000 })).stdout.trim();
        assert.equal(clear, '', 'L2TPv3 in the clear on the wire');
        ok = true;
        return;
      }
      await us.waitLog(SESSION_UP, 40_000);
      const sa = await us.waitLog(/ipsec: .* up from 198\.51\.100\.5/, 1000);
      t.diagnostic(`ours: ${sa.msg}`);

      // Ethernet through the pseudowire into the hub: ARP + ICMP with SecureNAT's virtual host.
      const p = await run('ip', ['netns', 'exec', ns.sl, 'ping', '-c', '4', '-i', '0.3', '-W', '2', '-w', '25', SECURENAT], { check: false, timeoutMs: 30_000 });
      assert.equal(p.code, 0, `ping ${SECURENAT} (SoftEther SecureNAT) from the LAN\n${p.stdout}\nl2tpd:\n${us.logTail(30)}\nSoftEther:\n${se.serverLog().slice(-3000)}`);
      const sessions = await se.cmd(['SessionList'], true);
      assert.match(sessions, /\[L2TPV3\].*,v3s,198\.51\.100\.1/, sessions);
      const slog = se.serverLog();
      assert.match(slog, /Legacy VPN - L2TPV3/, 'SoftEther logged an L2TPv3 session');
      assert.match(slog, /L2TPv3 Client - l2tpkit/, 'SoftEther saw our Vendor Name');
      const status = JSON.parse(await us.ctl(['show', 'status', '--json'])) as { l2tpv3?: { connections: { remoteVendorName?: string; remoteHostName?: string; sessions: { rxPackets: number; txPackets: number }[] }[]; ipsec?: { flows: { encapsulation: string }[] } } };
      const conn = status.l2tpv3?.connections[0];
      const sess = conn?.sessions[0];
      assert.ok(sess !== undefined && sess.rxPackets >= 4 && sess.txPackets >= 4, JSON.stringify(status.l2tpv3));
      assert.equal(status.l2tpv3?.ipsec?.flows[0]?.encapsulation, 'udp-transport', 'SoftEther fakes NAT-D: ESP in UDP 4500');
      t.diagnostic(`SoftEther: vendor ${conn?.remoteVendorName ?? '-'}, host ${conn?.remoteHostName ?? '-'}; session rx ${sess.rxPackets} tx ${sess.txPackets}; ${p.stdout.split('\n').find((l) => l.includes('packet loss')) ?? ''}`);

      await us.stop();
      await cap.stop();
      // The capture: clean in tshark; ISAKMP and ESP-in-UDP only, no L2TPv3 in the clear.
      const rep = await analyzeCapture(pcap);
      assert.ok(isClean(rep), describeReport(rep));
      const count = async (f: string): Promise<number> => (await run('tshark', ['-n', '-r', pcap, '-Y', f], { timeoutMs: 60_000 })).stdout.split('\n').filter((l) => l.trim() !== '').length;
      const esp = await count('esp');
      const clear = await count('l2tp || udp.port==1701 || ip.proto==115');
      assert.ok(esp >= 10, `ESP packets: ${esp}`);
      assert.equal(clear, 0, 'L2TPv3 in the clear on the wire');
      t.diagnostic(`capture: ${rep.packets} packets, ${esp} ESP (in UDP 4500), 0 clear L2TPv3, 0 malformed`);
      ok = true;
    } finally {
      await us?.stop().catch(() => undefined);
      await se?.stop().catch(() => undefined);
      for (const n of Object.values(ns)) {
        await run('ip', ['netns', 'del', n], { check: false });
        untrackNamespace(n);
      }
      if (ok) removeWorkDir(dir);
      else t.diagnostic(`work dir kept: ${dir}`);
    }
  });
}
