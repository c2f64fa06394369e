/**
 * The flooder of soak scenario 4 (bench/soak/flood.ts), a child process run inside a namespace
 * (`ip netns exec NS node flood-child.js JSON`). From `ports` UDP sockets (many source ports) it
 * sends, for `durationMs`, SCCRQs (each a new Assigned Tunnel ID) to target:1701 and IKE Main Mode
 * first messages (each a new initiator cookie) to target:500, round robin over the sockets, at the
 * given rates; it counts what comes back. With `dpdPsk` it first completes one legitimate Main Mode
 * (PSK) on a socket of its own and sends an RFC 3706 R-U-THERE every second through the flood,
 * counting the R-U-THERE-ACKs. Prints one JSON line (FloodReport) and exits; bounded to 10 minutes.
 */
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { cryptoRandom } from '../../src/io/random.js';
import { emitControl } from '../../src/wire/l2tp/control.js';
import { MessageType, sessionId, tunnelId } from '../../src/wire/l2tp/types.js';
import { NotifyType } from '../../src/wire/ike/constants.js';
import { TestInitiator } from '../../test/lib/ike-test-initiator.js';

/** What the parent asks for. */
export interface FloodRequest {
  readonly target: string;
  readonly local: string;
  readonly ports: number;
  readonly sccrqPerSecond: number;
  readonly ikePerSecond: number;
  readonly durationMs: number;
  readonly dpdPsk?: string;
}

/** What the child printed. */
export interface FloodReport {
  readonly sccrqSent: number;
  readonly ikeSent: number;
  /** Datagrams back from 1701 (SCCRPs, their retransmissions, StopCCNs) and from 500 (MM2s, notifies). */
  readonly l2tpAnswers: number;
  readonly ikeAnswers: number;
  readonly sendErrors: number;
  /** The legitimate IKE SA's DPD: Main Mode completed, probes sent, acks received. */
  readonly dpd?: { readonly mainMode: boolean; readonly sent: number; readonly acked: number };
}

const req = JSON.parse(process.argv[2] ?? '{}') as FloodRequest;
setTimeout(() => process.exit(3), 600_000).unref();

const bind = (s: Socket, address: string, port = 0): Promise<void> =>
  new Promise((resolve, reject) => {
    s.once('error', reject);
    s.bind(port, address, () => {
      s.off('error', reject);
      resolve();
    });
  });

/** One SCCRQ with a fresh Assigned Tunnel ID (1..65535). */
function sccrq(n: number): Uint8Array {
  return emitControl({
    tunnelId: tunnelId(0),
    sessionId: sessionId(0),
    ns: 0,
    nr: 0,
    type: MessageType.SCCRQ,
    avps: { protocolVersion: { version: 1, revision: 0 }, framingCapabilities: 3, hostName: `flood-${n}`, assignedTunnelId: tunnelId((n % 65535) + 1) },
  });
}

/** One legitimate IKE SA, then an R-U-THERE every second until `until`; counts the acks. */
async function dpd(psk: string, until: number): Promise<NonNullable<FloodReport['dpd']>> {
  const s = createSocket('udp4');
  await bind(s, req.local);
  const init = new TestInitiator({ psk: new TextEncoder().encode(psk), privateEndpoint: { address: req.local, port: s.address().port }, natt: 'none' }, cryptoRandom);
  const inbox: Uint8Array[] = [];
  let wake: (() => void) | undefined;
  s.on('message', (m) => {
    inbox.push(new Uint8Array(m));
    wake?.();
  });
  const exchange = async (out: Uint8Array, ms: number): Promise<Uint8Array | undefined> => {
    inbox.length = 0;
    for (let tries = 0; tries < 5; tries++) {
      s.send(out, 500, req.target);
      const deadline = performance.now() + ms;
      while (inbox.length === 0 && performance.now() < deadline) await new Promise<void>((r) => ((wake = r), setTimeout(r, 50)));
      const got = inbox.shift();
      if (got !== undefined) return got;
    }
    return undefined;
  };
  let sent = 0;
  let acked = 0;
  try {
    const m2 = await exchange(init.mm1(), 1000);
    if (m2 === undefined) return { mainMode: false, sent, acked };
    init.onMm2(m2);
    const m4 = await exchange(init.mm3({ address: req.target, port: 500 }), 1000);
    if (m4 === undefined) return { mainMode: false, sent, acked };
    init.onMm4(m4);
    const m6 = await exchange(init.mm5(), 1000);
    if (m6 === undefined) return { mainMode: false, sent, acked };
    init.onMm6(m6);
    const cookies = new Uint8Array([...init.icookie, ...init.rcookie]);
    for (let seq = 1; performance.now() < until; seq++) {
      const data = Uint8Array.of(0, 0, seq >> 8, seq & 0xff);
      sent++;
      const a = await exchange(init.informational([{ kind: 'n', doi: 1, protocolId: 1, notifyType: NotifyType.R_U_THERE, spi: cookies, data }]), 1000);
      if (a !== undefined) {
        try {
          if (init.openInformational(a).some((p) => p.kind === 'n' && p.notifyType === NotifyType.R_U_THERE_ACK)) acked++;
        } catch {
          // not an ack (a probe of its own): not counted
        }
      }
      await new Promise((r) => setTimeout(r, 1000));
    }
    return { mainMode: true, sent, acked };
  } finally {
    s.close();
  }
}

async function main(): Promise<void> {
  const socks: Socket[] = [];
  let l2tpAnswers = 0;
  let ikeAnswers = 0;
  let sendErrors = 0;
  for (let i = 0; i < req.ports; i++) {
    const s = createSocket({ type: 'udp4', sendBufferSize: 1 << 20 });
    await bind(s, req.local);
    s.on('message', (_m, r) => (r.port === 500 ? ikeAnswers++ : l2tpAnswers++));
    s.on('error', () => sendErrors++);
    socks.push(s);
  }
  const t0 = performance.now();
  const until = t0 + req.durationMs;
  const dpdRun = req.dpdPsk !== undefined ? dpd(req.dpdPsk, until) : undefined;
  let sccrqSent = 0;
  let ikeSent = 0;
  let k = 0;
  // Paced in 10 ms ticks: each tick sends what the rates owe up to now.
  while (performance.now() < until) {
    const elapsed = (performance.now() - t0) / 1000;
    for (; sccrqSent < elapsed * req.sccrqPerSecond; sccrqSent++) socks[k++ % socks.length]?.send(sccrq(sccrqSent), 1701, req.target, (e) => e && sendErrors++);
    for (; ikeSent < elapsed * req.ikePerSecond; ikeSent++) {
      const init = new TestInitiator({ psk: new Uint8Array(8), privateEndpoint: { address: req.local, port: 500 }, natt: 'rfc3947' }, cryptoRandom);
      socks[k++ % socks.length]?.send(init.mm1(), 500, req.target, (e) => e && sendErrors++);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
  const d = dpdRun !== undefined ? await dpdRun : undefined;
  await new Promise((r) => setTimeout(r, 500));
  for (const s of socks) s.close();
  const report: FloodReport = { sccrqSent, ikeSent, l2tpAnswers, ikeAnswers, sendErrors, ...(d !== undefined ? { dpd: d } : {}) };
  process.stdout.write(`${JSON.stringify(report)}\n`);
  process.exit(0);
}

void main();
