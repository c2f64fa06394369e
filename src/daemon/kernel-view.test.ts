import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KernelDropsView, SessionView, StatusView } from './control-protocol.js';
import { formatSessions, formatStatus } from './control-format.js';
import { DaemonMetrics } from './metrics.js';

const kernel: KernelDropsView = {
  sockets: [{ address: '192.0.2.1', port: 1701, receiveBuffer: 8_388_608, sendBuffer: 8_388_608, drops: 42, rxQueue: 768 }],
  udp: { rcvbufErrors: 50, sndbufErrors: 1, inErrors: 51 },
  tun: { name: 'l2tp0', txqueuelen: 10_000, txDropped: 7, rxDropped: 0 },
};
const echo = { misses: 9, missing: 2, timeouts: 1 };

test('show status: socket buffers and kernel drops, UDP errors, TUN queue drops, LCP echo misses', () => {
  const s: StatusView = { version: 'x', pid: 1, uptimeSeconds: 5, listeners: [], lacs: [], tunnels: [], kernel, echo };
  const out = formatStatus(s);
  assert.match(out, /^Socket 192\.0\.2\.1:1701: buffers 8388608 B receive \/ 8388608 B send, 42 dropped by the kernel, 768 B queued$/m);
  assert.match(out, /^UDP errors \(namespace\): 50 receive buffer, 1 send buffer, 51 in$/m);
  assert.match(out, /^TUN l2tp0: txqueuelen 10000, 7 tx dropped \(toward clients\), 0 rx dropped$/m);
  assert.match(out, /^LCP echo: 9 miss\(es\), 2 session\(s\) missing now, 1 echo-timeout logout\(s\)$/m);
});

test('show sessions: an ECHO-MISS column only while some keepalive is unanswered', () => {
  const base: SessionView = { localTunnelId: 1, localSessionId: 2, remoteSessionId: 3, state: 'established', direction: 'incoming', role: 'lns', callSerialNumber: 1, rxPackets: 0, rxOctets: 0, txPackets: 0, txOctets: 0, pppPhase: 'network' };
  assert.doesNotMatch(formatSessions([base]), /ECHO-MISS/);
  const out = formatSessions([base, { ...base, localSessionId: 4, echoMisses: 2 }]);
  assert.match(out.split('\n')[0] ?? '', /ECHO-MISS$/);
  assert.match(out.split('\n')[2] ?? '', / 2$/);
});

test('metrics: kernel drops and echo misses at scrape time', async () => {
  const m = new DaemonMetrics(() => undefined);
  m.addKernel(() => ({ kernel, echo }));
  const text = await m.registry.metrics();
  assert.match(text, /^l2tp_socket_drops_total\{listener="192\.0\.2\.1:1701"\} 42$/m);
  assert.match(text, /^l2tp_socket_receive_buffer_bytes\{listener="192\.0\.2\.1:1701"\} 8388608$/m);
  assert.match(text, /^udp_errors_total\{kind="rcvbuf"\} 50$/m);
  assert.match(text, /^tun_dropped_total\{direction="tx"\} 7$/m);
  assert.match(text, /^ppp_echo_misses_total 9$/m);
  assert.match(text, /^ppp_echo_timeouts_total 1$/m);
  assert.match(text, /^ppp_sessions_echo_missing 2$/m);
});
