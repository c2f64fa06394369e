/**
 * RFC 2661 §4.4.3 / §4.4.4: Assigned Tunnel / Session IDs are non-zero. The codec refuses a zero one
 * (`zero-assigned-id`); the engine must still consume the message's Ns (else the peer's control
 * channel stalls behind it and every session on the tunnel suffers) and clear only what it names.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { seededRandom } from '../base/random.js';
import type { Instant } from '../base/time.js';
import { emitControl, parseControl } from '../wire/l2tp/index.js';
import { MessageType, sessionId, tunnelId, type ControlAvps, type ControlMessage } from '../wire/l2tp/types.js';
import type { PeerAddress } from './api.js';
import { L2tpEngine, defaultTunnelSettings } from './index.js';

const at = (ms: number): Instant => ms as Instant;
const PEER: PeerAddress = { address: '198.18.0.9', port: 1701, family: 4 };

/** A raw scripted LAC against one engine. */
function lns(): { send: (now: number, type: MessageType, avps: ControlAvps, session?: number) => void; recv: () => ControlMessage[]; e: L2tpEngine; remote: (t: number) => void } {
  const e = new L2tpEngine(
    { acceptTunnels: true, accept: defaultTunnelSettings('lns'), acceptIncomingCalls: true, acceptOutgoingCalls: true },
    { random: seededRandom(3) },
  );
  let ns = 0;
  let nr = 0;
  let remote = 0;
  return {
    e,
    remote: (t) => (remote = t),
    send(now, type, avps, session = 0) {
      e.handleDatagram(at(now), emitControl({ tunnelId: tunnelId(remote), sessionId: sessionId(session), ns, nr, type, avps }), PEER);
      ns++;
    },
    recv() {
      const out: ControlMessage[] = [];
      for (let tx = e.pollTransmit(); tx; tx = e.pollTransmit()) {
        const r = parseControl(tx.data);
        assert.ok(r.ok);
        if (r.value.type !== undefined) nr = r.value.ns + 1;
        out.push(r.value);
      }
      return out;
    },
  };
}

const SCCRQ: ControlAvps = { protocolVersion: { version: 1, revision: 0 }, hostName: 'lac', framingCapabilities: 3, assignedTunnelId: tunnelId(77) };

test('SCCRQ with Assigned Tunnel ID 0: StopCCN 2/3, never an SCCRP; no tunnel comes up', () => {
  const p = lns();
  p.send(0, MessageType.SCCRQ, { ...SCCRQ, assignedTunnelId: tunnelId(0) });
  const sent = p.recv();
  assert.deepStrictEqual(sent.map((m) => m.type), [MessageType.StopCCN]);
  assert.deepStrictEqual(sent[0]?.avps.resultCode, { result: 2, error: 3, message: 'assigned id 0' });
  assert.ok(p.e.tunnels(at(0)).every((t) => t.state === 'closing'));
});

test('ICRQ with Assigned Session ID 0: CDN 2/3, the Ns is consumed and the next ICRQ is answered', () => {
  const p = lns();
  p.send(0, MessageType.SCCRQ, SCCRQ);
  const [sccrp] = p.recv();
  assert.equal(sccrp?.type, MessageType.SCCRP);
  p.remote(sccrp?.avps.assignedTunnelId ?? 0);
  p.send(10, MessageType.SCCCN, {});
  p.send(20, MessageType.ICRQ, { assignedSessionId: sessionId(0), callSerialNumber: 1 });
  const cdn = p.recv().find((m) => m.type === MessageType.CDN);
  assert.equal(cdn?.sessionId, 0);
  assert.deepStrictEqual(cdn?.avps.resultCode, { result: 2, error: 3, message: 'assigned id 0' });
  p.send(30, MessageType.ICRQ, { assignedSessionId: sessionId(5), callSerialNumber: 2 });
  const icrp = p.recv().find((m) => m.type === MessageType.ICRP);
  assert.equal(icrp?.sessionId, 5, 'the channel moved past the refused ICRQ');
  assert.equal(p.e.tunnelCount, 1);
});
