// IKEv1 handshakes per second (RFC 2409 Main Mode with PSK + one Quick Mode for a transport-mode
// ESP SA, i.e. everything an L2TP/IPsec client needs before L2TP starts): our IkeInitiator against
// our IkeResponder in memory, one thread, no sockets, node:crypto randomness (real DH keys).
//
// Per DH group (MODP2048 = 14, ECP256 = 19, MODP1024 = 2 as Android's default): N handshakes one
// after another, each with a fresh initiator (new cookies, new DH key pair, new nonces); a
// handshake counts when both sides reported `child-sa-up`. Both sides run on the same core, so
// "handshakes/s" is the cost of BOTH ends; the time spent inside the responder alone (handle /
// pollTransmit / pollEvent around each message) is also measured and gives the server-side
// capacity per core. Every 200 handshakes the responder is replaced, so its SA table stays small.
// Phase 1 aes256-sha256 with the group; phase 2 aes128-gcm16 without PFS (Windows-like), and a
// second row with PFS in the same group (one more DH per side). Best of --rounds rounds.
// Run: npx tsx bench/ike-handshake.ts [--count=300] [--rounds=3]
import { IkeInitiator } from '../src/ipsec/ike-initiator.js';
import { IkeResponder } from '../src/ipsec/ike-responder.js';
import type { IkeDatagram } from '../src/ipsec/ike-types.js';
import type { DhGroupNumber } from '../src/ipsec/dh.js';
import { cryptoRandom } from '../src/io/random.js';
import { instant, type Instant } from '../src/base/time.js';
import { machineLines } from './lib/machine.js';
import { fmtNum, formatTable, numArg } from './lib/table.js';

const COUNT = Math.max(10, numArg('count', 300));
const ROUNDS = Math.max(1, numArg('rounds', 3));
const PSK = new TextEncoder().encode('bench psk');
const SERVER = { address: '192.0.2.1', port: 500 };

interface Case {
  readonly name: string;
  readonly group: DhGroupNumber;
  readonly pfs: boolean;
}

const CASES: readonly Case[] = [
  { name: 'MODP2048 (14)', group: 14, pfs: false },
  { name: 'ECP256 (19)', group: 19, pfs: false },
  { name: 'MODP1024 (2), Android', group: 2, pfs: false },
  { name: 'MODP2048 (14) + PFS 14', group: 14, pfs: true },
  { name: 'ECP256 (19) + PFS 19', group: 19, pfs: true },
];

interface RunResult {
  readonly perSecond: number;
  readonly responderPerSecond: number;
  readonly messages: number;
}

/** `COUNT` handshakes; returns the rate of both ends together and of the responder alone. */
function run(c: Case): RunResult {
  let resp = new IkeResponder({ psk: () => PSK }, cryptoRandom);
  let respNs = 0;
  let messages = 0;
  const now: Instant = instant(1_000_000);
  const t0 = process.hrtime.bigint();
  for (let i = 0; i < COUNT; i++) {
    if (i % 200 === 0) resp = new IkeResponder({ psk: () => PSK }, cryptoRandom);
    // A different client address each time, as from many clients (198.18.0.0/15 benchmark space).
    const local = { address: `198.18.${(i >> 8) & 0xff}.${i & 0xff}`, port: 500 };
    const init = new IkeInitiator(
      {
        psk: PSK, local, remote: SERVER,
        proposals: { phase1: [{ encryption: 'aes256', hash: 'sha256', group: c.group }], phase2: [{ encryption: 'aes128-gcm16' }] },
        ...(c.pfs ? { pfsGroup: c.group } : {}),
      },
      cryptoRandom,
    );
    init.connect(now);
    let up = 0;
    for (let guard = 0; guard < 20; guard++) {
      const toResp: IkeDatagram[] = [];
      for (let d = init.pollTransmit(); d; d = init.pollTransmit()) toResp.push(d);
      for (let e = init.pollEvent(); e; e = init.pollEvent()) if (e.type === 'child-sa-up') up++;
      const toInit: IkeDatagram[] = [];
      const r0 = process.hrtime.bigint();
      for (const d of toResp) resp.handle(now, { local: d.remote, remote: d.local, data: d.data });
      for (let d = resp.pollTransmit(); d; d = resp.pollTransmit()) toInit.push(d);
      for (let e = resp.pollEvent(); e; e = resp.pollEvent()) if (e.type === 'child-sa-up') up++;
      respNs += Number(process.hrtime.bigint() - r0);
      messages += toResp.length + toInit.length;
      if (toResp.length === 0 && toInit.length === 0) break;
      for (const d of toInit) init.handle(now, { local: d.remote, remote: d.local, data: d.data });
    }
    if (up !== 2) throw new Error(`handshake ${i} (${c.name}) did not complete (${up} child-sa-up)`);
  }
  const ns = Number(process.hrtime.bigint() - t0);
  return { perSecond: (COUNT * 1e9) / ns, responderPerSecond: (COUNT * 1e9) / respNs, messages: messages / COUNT };
}

function main(): void {
  console.log(machineLines().join('\n'));
  console.log(`${COUNT} handshakes per round, best of ${ROUNDS} rounds; Main Mode aes256-sha256-PSK + Quick Mode aes128-gcm16\n`);
  const rows: string[][] = [];
  for (const c of CASES) {
    run({ ...c }); // warm-up round (JIT), not counted
    let best: RunResult | undefined;
    for (let r = 0; r < ROUNDS; r++) {
      const x = run(c);
      if (!best || x.perSecond > best.perSecond) best = x;
    }
    if (!best) continue;
    rows.push([c.name, fmtNum(best.perSecond), fmtNum(1000 / best.perSecond, 2), fmtNum(best.responderPerSecond), fmtNum(1000 / best.responderPerSecond, 2), fmtNum(best.messages)]);
  }
  console.log(formatTable(
    ['DH group', 'handshakes/s (both ends)', 'ms each', 'responder-only handshakes/s', 'responder ms each', 'messages'],
    rows,
    ['left', 'right', 'right', 'right', 'right', 'right'],
  ));
  console.log('\nA handshake = MM1..MM6 + QM1..QM3 (9 messages), ending with child-sa-up on both sides.');
}

main();
