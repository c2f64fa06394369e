/**
 * Human output of l2tpctl: aligned tables for `show tunnels|sessions|ipsec`, and a Yamaha
 * "show status l2tp"-like block per tunnel for `show status`.
 */
import type { L2tpv3View } from './l2tpv3-shell.js';
import type { L2tpv3StaticView } from './l2tpv3-static-shell.js';
import type { CredentialsView, IpsecView, SessionView, StatusView, TunnelView } from './control-protocol.js';

/** Align rows into columns (two spaces apart); the first row is the header. */
export function table(rows: readonly (readonly string[])[]): string {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd()).join('\n');
}

/** `h:mm:ss` (or `Nd h:mm:ss`), '-' when unknown. */
export function formatUptime(s: number | undefined): string {
  if (s === undefined) return '-';
  const d = Math.floor(s / 86400);
  const h = Math.floor((s % 86400) / 3600);
  const m = Math.floor((s % 3600) / 60);
  const sec = s % 60;
  const hms = `${h}:${String(m).padStart(2, '0')}:${String(sec).padStart(2, '0')}`;
  return d > 0 ? `${d}d ${hms}` : hms;
}

const hostPort = (a: string, p: number): string => (a.includes(':') ? `[${a}]:${p}` : `${a}:${p}`);

/** `l2tpctl show tunnels`. */
export function formatTunnels(tunnels: readonly TunnelView[]): string {
  if (tunnels.length === 0) return 'no tunnels';
  const rows = [['TUNNEL', 'REMOTE', 'STATE', 'ROLE', 'PEER', 'HOSTNAME', 'SESSIONS', 'UPTIME', 'RX-PKTS', 'RX-OCTETS', 'TX-PKTS', 'TX-OCTETS']];
  for (const t of tunnels) {
    rows.push([
      String(t.localTunnelId),
      String(t.remoteTunnelId),
      t.state,
      t.lac !== undefined ? `lac ${t.lac}` : t.role,
      hostPort(t.remoteAddress, t.remotePort),
      t.remoteHostName ?? '-',
      String(t.sessions.length),
      formatUptime(t.uptimeSeconds),
      String(t.data.rxPackets),
      String(t.data.rxOctets),
      String(t.data.txPackets),
      String(t.data.txOctets),
    ]);
  }
  return table(rows);
}

function sessionRows(sessions: readonly SessionView[], withTunnel: boolean): string[][] {
  // USER / ADDRESS columns only when some session runs PPP here (remote access or client mode).
  const ppp = sessions.some((s) => s.pppPhase !== undefined);
  // ECHO-MISS only when some session's keepalive is unanswered now (on its way to an echo-timeout).
  const misses = sessions.some((s) => s.echoMisses !== undefined);
  const head = ['SESSION', 'REMOTE', 'STATE', 'DIR', ...(ppp ? ['USER', 'AUTH', 'ADDRESS'] : []), 'UPTIME', 'RX-PKTS', 'RX-OCTETS', 'TX-PKTS', 'TX-OCTETS', ...(misses ? ['ECHO-MISS'] : [])];
  const rows = [withTunnel ? ['TUNNEL', ...head] : head];
  for (const s of sessions) {
    const r = [
      String(s.localSessionId),
      String(s.remoteSessionId),
      s.state,
      s.direction,
      ...(ppp ? [s.username ?? '-', s.authMethod ?? '-', [s.address, s.ipv6Prefix].filter((x) => x !== undefined).join(' ') || '-'] : []),
      formatUptime(s.uptimeSeconds),
      String(s.rxPackets),
      String(s.rxOctets),
      String(s.txPackets),
      String(s.txOctets),
      ...(misses ? [String(s.echoMisses ?? 0)] : []),
    ];
    rows.push(withTunnel ? [s.pppoe !== undefined ? `pppoe:${s.pppoe.interface}` : String(s.localTunnelId), ...r] : r);
  }
  return rows;
}

/** `l2tpctl show sessions`. */
export function formatSessions(sessions: readonly SessionView[]): string {
  if (sessions.length === 0) return 'no sessions';
  return table(sessionRows(sessions, true));
}

/** `show status`: socket buffers and kernel drops, the TUN queue, LCP echo misses (issue 15 item 3). */
function formatKernel(s: StatusView): string[] {
  const out: string[] = [];
  const k = s.kernel;
  for (const x of k?.sockets ?? []) {
    const drops = x.drops !== undefined ? `, ${x.drops} dropped by the kernel, ${x.rxQueue ?? 0} B queued` : '';
    out.push(`Socket ${hostPort(x.address, x.port)}: buffers ${x.receiveBuffer} B receive / ${x.sendBuffer} B send${drops}`);
  }
  if (k?.udp !== undefined) out.push(`UDP errors (namespace): ${k.udp.rcvbufErrors} receive buffer, ${k.udp.sndbufErrors} send buffer, ${k.udp.inErrors} in`);
  const t = k?.tun;
  if (t !== undefined) out.push(`TUN ${t.name}: txqueuelen ${t.txqueuelen ?? '?'}, ${t.txDropped} tx dropped (toward clients), ${t.rxDropped} rx dropped`);
  const e = s.echo;
  if (e !== undefined) out.push(`LCP echo: ${e.misses} miss(es), ${e.missing} session(s) missing now, ${e.timeouts} echo-timeout logout(s)`);
  return out;
}

/** `l2tpctl show status`: daemon summary, then one block per tunnel with its sessions. */
export function formatStatus(s: StatusView): string {
  const out: string[] = [];
  out.push(`l2tpd ${s.version}  pid ${s.pid}  up ${formatUptime(s.uptimeSeconds)}`);
  for (const l of s.listeners) out.push(`Listener: ${hostPort(l.address, l.port)} (${l.auth ? 'tunnel auth' : 'no tunnel auth'})`);
  for (const l of s.lacs) {
    out.push(`LAC ${l.name} -> ${hostPort(l.lns, l.port)}: ${l.state}${l.tunnel !== undefined ? ` (tunnel ${l.tunnel})` : ''}`);
  }
  if (s.pool !== undefined) out.push(`PPP: ${s.pool.sessions} session(s), pool ${s.pool.inUse} of ${s.pool.capacity} address(es) in use${(s.pool.held ?? 0) > 0 ? ` (${s.pool.held} held for clients of the previous run)` : ''}`);
  const tb = s.tooBig;
  if (tb !== undefined && tb.icmpSent + tb.fragmented + tb.rateLimited + tb.dropped > 0) {
    out.push(`Above client MRU: ${tb.icmpSent} ICMP too-big sent, ${tb.fragmented} fragmented, ${tb.rateLimited} ICMP rate-limited, ${tb.dropped} dropped`);
  }
  const fp = s.fastPath;
  if (fp !== undefined) {
    out.push(`Data fast path: ${fp.sessions} session(s); L2TP -> TUN ${fp.udpFast} native, ${fp.udpToJs} to JS; TUN -> L2TP ${fp.tunFast} native, ${fp.tunToJs} to JS`);
    const k = fp.keepalive;
    if (k !== undefined) out.push(`LCP keepalive in the fast path: ${k.sessions} session(s), ${k.echoSent} Echo-Request(s) sent, ${k.echoReplied} replied, ${k.echoAnswered} peer request(s) answered, ${k.echoMisses} miss(es), ${k.echoDead} echo-timeout(s)`);
  }
  const x = s.ipsec;
  if (x !== undefined) {
    const l = x.listener;
    const at = l !== undefined ? ` on ${l.address} (IKE ${l.ikePort}, NAT-T ${l.nattPort}, raw ESP ${l.rawEsp ? 'on' : 'off: UDP encapsulation only'}, ${l.requireIpsec ? 'L2TP only inside IPsec' : 'L2TP also in the clear'})` : '';
    out.push(`IPsec${at}: ${x.ikeSas} IKE SA(s), ${x.espSas} ESP SA pair(s) (${x.espRaw} raw, ${x.espUdp} UDP), ${x.drops} drop(s) (l2tpctl show ipsec)`);
  }
  out.push(...formatKernel(s));
  if (s.timers !== undefined) out.push(`Timers pending: ${s.timers}`);
  if (s.l2tpv3 !== undefined) out.push(...formatL2tpv3(s.l2tpv3));
  if (s.l2tpv3Static !== undefined) out.push(...formatL2tpv3Static(s.l2tpv3Static));
  if (s.tunnels.length === 0) out.push('', 'no tunnels');
  for (const t of s.tunnels) {
    out.push('', `TUNNEL[${t.localTunnelId}]:`);
    const kv: [string, string][] = [
      ['State', t.state],
      ['Version', `L2TPv2${t.protocolVersion !== undefined ? ` (peer protocol ${t.protocolVersion})` : ''}`],
      ['Role', t.lac !== undefined ? `LAC (${t.lac})` : t.role.toUpperCase()],
      ['Local tunnel ID', String(t.localTunnelId)],
      ['Remote tunnel ID', String(t.remoteTunnelId)],
      ['Local address', `${t.localAddress}  port ${t.localPort}`],
      ['Remote address', `${t.remoteAddress}  port ${t.remotePort}`],
      ['Remote vendor', t.remoteVendorName ?? '-'],
      ['Remote host name', t.remoteHostName ?? '-'],
      ['Ns / Nr', `${t.ns} / ${t.nr}`],
      ['Peer receive window', String(t.peerReceiveWindow)],
      ['Uptime', formatUptime(t.uptimeSeconds)],
      ['Control rx / tx', `${t.counters.controlRx} / ${t.counters.controlTx} (retransmits ${t.counters.retransmits}, ZLB rx/tx ${t.counters.zlbRx}/${t.counters.zlbTx})`],
      ['Data rx / tx', `${t.counters.dataRxPackets} pkts ${t.counters.dataRxOctets} octets / ${t.counters.dataTxPackets} pkts ${t.counters.dataTxOctets} octets`],
      ['Sessions', String(t.sessions.length)],
    ];
    const w = Math.max(...kv.map(([k]) => k.length)) + 1;
    for (const [k, v] of kv) out.push(`  ${`${k}:`.padEnd(w)}  ${v}`);
    if (t.sessions.length > 0) {
      out.push(
        table(sessionRows(t.sessions, false))
          .split('\n')
          .map((l) => `    ${l}`)
          .join('\n'),
      );
    }
  }
  return out.join('\n');
}

/** `l2tpctl show ipsec`: IKE SAs, then ESP SA pairs with counters. */
export function formatIpsec(v: IpsecView): string {
  const out: string[] = [];
  if (v.ikeSas.length === 0) out.push('no IKE SAs');
  else {
    const rows = [['IKE-SA', 'ROLE', 'PEER', 'LOCAL', 'STATE', 'ALGORITHMS', 'NAT-T', 'NAT', 'LIFETIME-LEFT']];
    for (const s of v.ikeSas) {
      const nat = s.natLocal === undefined ? '-' : s.natLocal && s.natRemote === true ? 'both' : s.natLocal ? 'local' : s.natRemote === true ? 'remote' : 'none';
      rows.push([
        String(s.ikeSaId),
        s.lac !== undefined ? `lac ${s.lac}` : s.role,
        `${hostPort(s.remoteAddress, s.remotePort)}${s.peerId !== undefined && s.peerId !== s.remoteAddress ? ` (${s.peerId})` : ''}`,
        hostPort(s.localAddress, s.localPort),
        s.state,
        s.encryption !== undefined ? `${s.encryption}-${s.hash ?? '?'}-${s.group ?? '?'}` : '-',
        s.natT ?? '-',
        nat,
        formatUptime(s.lifetimeLeftSeconds),
      ]);
    }
    out.push(table(rows));
  }
  out.push('');
  if (v.espSas.length === 0) out.push('no ESP SAs');
  else {
    const rows = [['FLOW', 'ROLE', 'SPI-IN', 'SPI-OUT', 'ALGORITHMS', 'ENCAP', 'TUNNELS', 'IN PKTS/BYTES', 'OUT PKTS/BYTES', 'LIFETIME-LEFT']];
    for (const e of v.espSas) {
      const encap =
        e.encapsulation === 'udp'
          ? `udp ${hostPort(e.localAddress, e.localPort ?? 0)} <-> ${hostPort(e.remoteAddress, e.remotePort ?? 0)}`
          : `raw ${e.localAddress} <-> ${e.remoteAddress}`;
      rows.push([
        e.flow,
        e.lac !== undefined ? `lac ${e.lac}` : e.role,
        e.spiIn,
        e.spiOut,
        e.integrity === 'none' ? e.encryption : `${e.encryption}/${e.integrity}`,
        encap,
        e.tunnels.join(',') || '-',
        `${e.packetsIn}/${e.bytesIn}`,
        `${e.packetsOut}/${e.bytesOut}`,
        formatUptime(e.lifetimeLeftSeconds),
      ]);
    }
    out.push(table(rows));
  }
  const c = v.counters;
  out.push('');
  out.push(
    `Gate: clear L2TP refused ${c.clearL2tpRefused}, ESP unknown SPI ${c.espUnknownSpi}, ESP dropped ${c.espDropped}, ` +
      `inner not L2TP ${c.innerNotL2tp}, tx without flow ${c.txNoFlow}, tx encrypt refused ${c.txEncryptFailed}`,
  );
  return out.join('\n');
}

/** `l2tpctl credentials show|rotate`. */
export function formatCredentials(c: CredentialsView): string {
  const rows: [string, string][] = [];
  if (c.psk !== undefined) rows.push(['Pre-shared key', c.psk]);
  if (c.login !== undefined) rows.push(['User name', c.login.username], ['Password', c.login.password]);
  if (rows.length === 0) rows.push(['Generated', 'nothing (the config sets the PSK and the users file)']);
  rows.push(['Kept in', [c.stateFile, c.usersFile].filter((x) => x !== undefined).join(', ') || 'memory only (they change at every start)']);
  const w = Math.max(...rows.map(([k]) => k.length));
  return [...rows.map(([k, v]) => `${`${k}:`.padEnd(w + 1)}  ${v}`), ...(c.notes ?? []).map((n) => `note: ${n}`)].join('\n');
}

/** `show status`: one block per static L2TPv3 pseudowire (cookie sizes, never their values). */
function formatL2tpv3Static(v: readonly L2tpv3StaticView[]): string[] {
  const out: string[] = [];
  for (const p of v) {
    const d = p.drops;
    const port = (n: number | undefined): string => (n !== undefined ? `  port ${n}` : '');
    const kv: [string, string][] = [
      ['Encapsulation', p.encap === 'udp' ? 'UDP' : 'IP (protocol 115)'],
      ['TAP', p.tap],
      ['Local address', `${p.localAddress}${port(p.localPort)}`],
      ['Remote address', `${p.remoteAddress}${port(p.remotePort)}`],
      ['Tunnel ID / peer', `${p.tunnelId} / ${p.peerTunnelId}`],
      ['Session ID / peer', `${p.sessionId} / ${p.peerSessionId}`],
      ['Cookie sent / required', `${p.cookieLength} / ${p.peerCookieLength} bytes`],
      ['Sublayer / seq', `${p.l2specType} / ${p.seq}`],
      ['Received', `${p.rxPackets} packets ${p.rxOctets} octets`],
      ['Transmitted', `${p.txPackets} packets ${p.txOctets} octets`],
      ['Dropped', `${d.wrongCookie} wrong cookie, ${d.tooShort} too short, ${d.sequence} sequence, ${d.unknownSession} unknown session, ${d.badHeader} bad header, ${d.foreignSource} foreign source, ${d.tapWrite} TAP write, ${d.send} send`],
    ];
    const w = Math.max(...kv.map(([k]) => k.length)) + 1;
    out.push('', `L2TPv3 STATIC[${p.name}]:`, ...kv.map(([k, val]) => `  ${`${k}:`.padEnd(w)}  ${val}`));
  }
  return out;
}

/** `show status`: the L2TPv3 part, one block per control connection (Yamaha `show status l2tp` fields). */
function formatL2tpv3(v: L2tpv3View): string[] {
  const d = v.drops;
  const out = [
    `L2TPv3: ${v.listen} (profile ${v.profile}, tunnel auth ${v.auth}), ${v.connections.length} connection(s); dropped data: ${d.unknownSession} unknown session, ${d.wrongCookie} wrong cookie, ${d.tooShort} too short, ${d.badHeader} bad header, ${d.foreignData} foreign source, ${d.unsequenced + d.outOfOrder} sequence, ${d.notV3} not v3`,
    `  dropped control: ${d.controlBadHeader} bad header, ${d.controlUnknownConnection} unknown connection, ${d.controlBadSccrq} bad SCCRQ, ${d.controlAuthFailures} auth failed, ${d.controlMalformed} malformed, ${d.controlUnknownSession} unknown session, ${d.controlForeignSource} foreign source`,
  ];
  for (const t of v.connections) {
    out.push('', `TUNNEL[${t.localTunnelId}]:`);
    const kv: [string, string][] = [
      ['State', t.state],
      ['Version', t.version],
      ['Role', t.role],
      ['Local tunnel ID', String(t.localTunnelId)],
      ['Remote tunnel ID', String(t.remoteTunnelId)],
      ['Local address', `${t.localAddress}  port ${t.localPort}`],
      ['Remote address', `${t.remoteAddress}  port ${t.remotePort}`],
      ['Remote vendor', t.remoteVendorName ?? '-'],
      ['Remote host name', t.remoteHostName ?? '-'],
      ['Remote router ID', t.remoteRouterId ?? '-'],
      ['Ns / Nr', `${t.ns} / ${t.nr}`],
      ['Uptime', formatUptime(t.uptimeSeconds)],
      ['Control rx / tx', `${t.counters.controlRx} / ${t.counters.controlTx} (retransmits ${t.counters.retransmits}, auth failures ${t.counters.authFailures}, peer moves ${t.counters.peerMoves})`],
    ];
    for (const s of t.sessions) {
      kv.push(
        [`Session ${s.name}`, `${s.state}, local ID ${s.localSessionId}, remote ID ${s.remoteSessionId}, Remote End ID ${s.remoteEndId}${s.tap !== undefined ? `, ${s.tap}` : ''}`],
        ['  Circuit status', `local ${s.circuitLocal}, remote ${s.circuitRemote} (${s.call} call; SLI rx/tx ${s.sliRx}/${s.sliTx}, WEN rx ${s.wenRx}${s.circuitErrors !== undefined ? `: ${s.circuitErrors}` : ''})`],
        ['  Uptime', formatUptime(s.uptimeSeconds)],
        ['  Received', `${s.rxPackets} packets ${s.rxOctets} octets`],
        ['  Transmitted', `${s.txPackets} packets ${s.txOctets} octets (${s.drops} dropped)`],
      );
    }
    const w = Math.max(...kv.map(([k]) => k.length)) + 1;
    for (const [k, val] of kv) out.push(`  ${`${k}:`.padEnd(w)}  ${val}`);
  }
  return out;
}
