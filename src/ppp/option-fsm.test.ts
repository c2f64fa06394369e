import { test } from 'node:test';
import assert from 'node:assert/strict';
import { OptionFsm, type OptionHandler, type LayerSignal } from './option-fsm.js';
import { type CpOption, type CpPacket, CpCode } from '../wire/ppp/cp.js';
import { instant, type Instant } from '../base/time.js';

/** A handler that requests option 1 = [0x05,0xdc] and Naks any option 1 the peer sends with another value. */
function harness(cfg: Partial<{ maxFailure: number }> = {}) {
  const sent: { at: number; p: CpPacket }[] = [];
  const layer: { at: number; s: LayerSignal }[] = [];
  let now = 0;
  const want: CpOption = { type: 1, data: Uint8Array.of(0x05, 0xdc) };
  const handler: OptionHandler = {
    buildRequest: () => [want],
    judge: (o) => (o.type === 1 ? (o.data[0] === 0x05 ? { verdict: 'ack' } : { verdict: 'nak', data: Uint8Array.of(0x05, 0xdc) }) : { verdict: 'reject' }),
    applyAck: () => {},
    applyNak: () => {},
    applyReject: () => {},
    applyPeerAck: () => {},
    echoReply: (p) => (p.kind === 'echo' && p.code === 9 ? { ...p, code: 10 } : undefined),
  };
  const fsm = new OptionFsm('test', handler, { send: (p) => sent.push({ at: now, p }), layer: (s) => layer.push({ at: now, s }) }, cfg);
  /** Advance the virtual clock to `t`, firing every timer due on the way at its exact instant. */
  const advance = (t: number): void => {
    for (;;) {
      const at = fsm.pollAt();
      if (at === undefined || at > t) break;
      now = at;
      fsm.handleTimeout(instant(at));
    }
    now = t;
  };
  const at = (): Instant => instant(now);
  const recv = (p: CpPacket): void => fsm.receive(at(), p, new Uint8Array(4));
  return { fsm, sent, layer, advance, at, recv, want };
}

const cr = (id: number, options: CpOption[]): CpPacket => ({ kind: 'configure', code: CpCode.ConfigureRequest, identifier: id, options });

test('fsm: Max-Configure — 10 Configure-Requests 3 s apart, TO- at 30 s exactly (tlf, Stopped)', () => {
  const h = harness();
  h.fsm.open(h.at());
  h.fsm.up(h.at());
  assert.equal(h.fsm.state, 'Req-Sent');
  h.advance(29_999);
  assert.equal(h.sent.length, 10);
  assert.deepEqual(h.sent.map((s) => s.at), [0, 3000, 6000, 9000, 12000, 15000, 18000, 21000, 24000, 27000]);
  assert.deepEqual(h.layer, [{ at: 0, s: 'tls' }]);
  assert.equal(h.fsm.state, 'Req-Sent');
  h.advance(30_000);
  assert.deepEqual(h.layer, [{ at: 0, s: 'tls' }, { at: 30_000, s: 'tlf' }]);
  assert.equal(h.fsm.state, 'Stopped');
  assert.equal(h.fsm.pollAt(), undefined);
  // Identifiers change on every request.
  assert.equal(new Set(h.sent.map((s) => s.p.identifier)).size, 10);
});

test('fsm: full negotiation, then Max-Terminate — Terminate-Request at t and t+3 s, tlf at t+6 s', () => {
  const h = harness();
  h.fsm.open(h.at());
  h.fsm.up(h.at());
  const req = h.sent[0]?.p;
  assert.ok(req?.kind === 'configure');
  h.recv(cr(7, [h.want])); // RCR+ in Req-Sent: sca/8
  assert.equal(h.fsm.state, 'Ack-Sent');
  assert.equal(h.sent[1]?.p.code, CpCode.ConfigureAck);
  assert.equal(h.sent[1]?.p.identifier, 7);
  // A Configure-Ack with a wrong Identifier is discarded (§5.2).
  h.recv({ kind: 'configure', code: CpCode.ConfigureAck, identifier: req.identifier + 1, options: req.options });
  assert.equal(h.fsm.state, 'Ack-Sent');
  // ... and one with different options too.
  h.recv({ kind: 'configure', code: CpCode.ConfigureAck, identifier: req.identifier, options: [] });
  assert.equal(h.fsm.state, 'Ack-Sent');
  h.recv({ kind: 'configure', code: CpCode.ConfigureAck, identifier: req.identifier, options: req.options });
  assert.equal(h.fsm.state, 'Opened');
  assert.deepEqual(h.layer.map((l) => l.s), ['tls', 'tlu']);
  assert.equal(h.fsm.pollAt(), undefined);

  h.advance(100);
  h.fsm.close(h.at());
  assert.equal(h.fsm.state, 'Closing');
  h.advance(6_099);
  const trs = h.sent.filter((s) => s.p.code === CpCode.TerminateRequest);
  assert.deepEqual(trs.map((s) => s.at), [100, 3100]);
  assert.deepEqual(h.layer.map((l) => l.s), ['tls', 'tlu', 'tld']);
  h.advance(6_100);
  assert.deepEqual(h.layer.map((l) => l.s), ['tls', 'tlu', 'tld', 'tlf']);
  assert.equal(h.fsm.state, 'Closed');
});

test('fsm: Max-Failure — 5 Configure-Naks, then Configure-Reject', () => {
  const h = harness();
  h.fsm.open(h.at());
  h.fsm.up(h.at());
  const bad: CpOption = { type: 1, data: Uint8Array.of(0x01, 0x00) };
  for (let i = 0; i < 7; i++) h.recv(cr(20 + i, [bad]));
  const replies = h.sent.filter((s) => s.p.code !== CpCode.ConfigureRequest).map((s) => s.p.code);
  assert.deepEqual(replies, [3, 3, 3, 3, 3, 4, 4]);
  assert.equal(h.fsm.state, 'Req-Sent');
  // A good request Acks and resets the failure counter.
  h.recv(cr(40, [h.want]));
  h.recv(cr(41, [bad]));
  assert.equal(h.sent.at(-1)?.p.code, CpCode.ConfigureNak);
});

test('fsm: Opened + RTR — tld, zrc, sta, Stopping; TO- one period later (tlf, Stopped)', () => {
  const h = harness();
  h.fsm.open(h.at());
  h.fsm.up(h.at());
  const req = h.sent[0]?.p;
  assert.ok(req?.kind === 'configure');
  h.recv({ kind: 'configure', code: CpCode.ConfigureAck, identifier: req.identifier, options: req.options });
  assert.equal(h.fsm.state, 'Ack-Rcvd');
  h.recv(cr(9, [h.want]));
  assert.equal(h.fsm.state, 'Opened');
  h.advance(1000);
  h.recv({ kind: 'terminate', code: CpCode.TerminateRequest, identifier: 33, data: new Uint8Array(0) });
  assert.equal(h.fsm.state, 'Stopping');
  assert.deepEqual({ code: h.sent.at(-1)?.p.code, id: h.sent.at(-1)?.p.identifier }, { code: CpCode.TerminateAck, id: 33 });
  assert.equal(h.fsm.pollAt(), 4000);
  h.advance(3999);
  assert.equal(h.fsm.state, 'Stopping');
  h.advance(4000);
  assert.equal(h.fsm.state, 'Stopped');
  assert.deepEqual(h.layer.map((l) => l.s), ['tls', 'tlu', 'tld', 'tlf']);
});

test('fsm: table-driven single steps', () => {
  type Step = (h: ReturnType<typeof harness>) => void;
  const open: Step = (h) => h.fsm.open(h.at());
  const up: Step = (h) => h.fsm.up(h.at());
  const down: Step = (h) => h.fsm.down(h.at());
  const close: Step = (h) => h.fsm.close(h.at());
  const rcrBad: Step = (h) => h.recv(cr(5, [{ type: 2, data: new Uint8Array(0) }]));
  const ruc: Step = (h) => h.recv({ kind: 'unknown', code: 99, identifier: 3, data: new Uint8Array(0) });
  const rxjBad: Step = (h) => h.recv({ kind: 'code-reject', code: 7, identifier: 3, rejected: Uint8Array.of(1, 1, 0, 4) });
  const rxjOk: Step = (h) => h.recv({ kind: 'code-reject', code: 7, identifier: 3, rejected: Uint8Array.of(12, 1, 0, 4) });
  const rta: Step = (h) => h.recv({ kind: 'terminate', code: CpCode.TerminateAck, identifier: 1, data: new Uint8Array(0) });
  const rows: { name: string; steps: Step[]; state: string; lastSent?: number; layer?: LayerSignal[] }[] = [
    { name: 'Initial Open -> Starting (tls)', steps: [open], state: 'Starting', layer: ['tls'] },
    { name: 'Initial Up -> Closed', steps: [up], state: 'Closed', layer: [] },
    { name: 'Starting Close -> Initial (tlf)', steps: [open, close], state: 'Initial', layer: ['tls', 'tlf'] },
    { name: 'Closed RCR -> sta', steps: [up, rcrBad], state: 'Closed', lastSent: CpCode.TerminateAck },
    { name: 'Req-Sent RCR- -> scn (Reject of unknown option)', steps: [open, up, rcrBad], state: 'Req-Sent', lastSent: CpCode.ConfigureReject },
    { name: 'Req-Sent RUC -> scj', steps: [open, up, ruc], state: 'Req-Sent', lastSent: CpCode.CodeReject },
    { name: 'Req-Sent RXJ- -> tlf, Stopped', steps: [open, up, rxjBad], state: 'Stopped', layer: ['tls', 'tlf'] },
    { name: 'Req-Sent RXJ+ stays', steps: [open, up, rxjOk], state: 'Req-Sent', layer: ['tls'] },
    { name: 'Req-Sent Down -> Starting', steps: [open, up, down], state: 'Starting', layer: ['tls'] },
    { name: 'Closing RTA -> Closed (tlf)', steps: [open, up, close, rta], state: 'Closed', layer: ['tls', 'tlf'] },
    { name: 'Stopped Down -> Starting (tls)', steps: [open, up, rxjBad, down], state: 'Starting', layer: ['tls', 'tlf', 'tls'] },
  ];
  for (const row of rows) {
    const h = harness();
    for (const s of row.steps) s(h);
    assert.equal(h.fsm.state, row.state, row.name);
    if (row.lastSent !== undefined) assert.equal(h.sent.at(-1)?.p.code, row.lastSent, row.name);
    if (row.layer !== undefined) assert.deepEqual(h.layer.map((l) => l.s), row.layer, row.name);
  }
});

test('fsm: RXR in Opened answers Echo-Request (ser); RCN crossed in Opened renegotiates', () => {
  const h = harness();
  h.fsm.open(h.at());
  h.fsm.up(h.at());
  const req = h.sent[0]?.p;
  assert.ok(req?.kind === 'configure');
  h.recv(cr(1, [h.want]));
  h.recv({ kind: 'configure', code: CpCode.ConfigureAck, identifier: req.identifier, options: req.options });
  assert.equal(h.fsm.state, 'Opened');
  h.recv({ kind: 'echo', code: 9, identifier: 4, magic: 1, data: new Uint8Array(0) });
  assert.equal(h.sent.at(-1)?.p.code, CpCode.EchoReply);
  h.recv(cr(2, [h.want]));
  assert.equal(h.fsm.state, 'Ack-Sent');
  assert.deepEqual(h.layer.map((l) => l.s), ['tls', 'tlu', 'tld']);
});

test('fsm: one output serves several automata: every packet and layer signal names its automaton', () => {
  const got: string[] = [];
  const handler: OptionHandler = { buildRequest: () => [], judge: () => ({ verdict: 'ack' }), applyAck: () => {}, applyNak: () => {}, applyReject: () => {}, applyPeerAck: () => {} };
  const out = { send: (p: CpPacket, from: string) => got.push(`${from}:send:${p.code}`), layer: (s: LayerSignal, _now: Instant, from: string) => got.push(`${from}:${s}`) };
  const a = new OptionFsm('lcp', handler, out);
  const b = new OptionFsm('ipcp', handler, out);
  a.open(instant(0));
  a.up(instant(0));
  b.open(instant(0));
  b.up(instant(0));
  assert.deepEqual(got, ['lcp:tls', `lcp:send:${CpCode.ConfigureRequest}`, 'ipcp:tls', `ipcp:send:${CpCode.ConfigureRequest}`]);
});
