/** The AgentX encoding of our cells through net-snmp's PDU writer (octets >= 0x80, UTF-8, large counters). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { writeAgentxOctetString, type AgentxBuffer } from './agentx.js';
import { counter32, mibSnapshot, TUNNEL_STATS_TABLE } from './l2tp-mib.js';

/** The part of net-snmp the test drives: a Response PDU with varbinds, encoded. */
interface PduFactory {
  readonly AgentXPdu: { createFromVariables(v: { pduType: number; varbinds: { oid: string; type: number; value: unknown }[] }): { toBuffer(): Buffer } };
  readonly AgentXPduType: Readonly<Record<string, number>>;
  readonly ObjectType: Readonly<Record<string, number>>;
}
const snmp = createRequire(import.meta.url)('net-snmp') as PduFactory;

/** Collects what a writer puts into the AgentX buffer. */
class Bytes implements AgentxBuffer {
  readonly out: number[] = [];
  writeUInt32BE(v: number): void {
    this.out.push((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
  }
  writeBuffer(b: Buffer): void {
    this.out.push(...b);
  }
  writeUInt8(v: number): void {
    this.out.push(v);
  }
}

/** Index of `needle` in `hay`, or -1. */
const indexOf = (hay: Buffer, needle: readonly number[]): number => hay.indexOf(Buffer.from(needle));

test('AgentX Octet String (RFC 2741 §5.3): length in octets, octets >= 0x80 as they are, UTF-8 strings, padding', () => {
  const a = new Bytes();
  writeAgentxOctetString(a, Uint8Array.of(0x01, 0x00, 0xff, 0x80, 0x81));
  assert.deepEqual(a.out, [0, 0, 0, 5, 0x01, 0x00, 0xff, 0x80, 0x81, 0, 0, 0]);
  const b = new Bytes();
  writeAgentxOctetString(b, 'jörg');
  assert.deepEqual(b.out, [0, 0, 0, 5, 0x6a, 0xc3, 0xb6, 0x72, 0x67, 0, 0, 0], 'ö is two octets in UTF-8: length 5, not 4');
  const c = new Bytes();
  const whole = Uint8Array.of(9, 9, 0xaa, 0xbb, 0xcc);
  writeAgentxOctetString(c, whole.subarray(2));
  assert.deepEqual(c.out, [0, 0, 0, 3, 0xaa, 0xbb, 0xcc, 0], 'a view into a larger buffer: only its octets');
});

test('a Response PDU through net-snmp: octets >= 0x80, a UTF-8 user name and Counter32 2^32-1 encode exactly; payload_length right', () => {
  const varbinds = [
    { oid: '1.3.6.1.2.1.10.95.1.5.1.8.300', type: snmp.ObjectType['OctetString'] ?? 4, value: Buffer.from([0x01, 0x00, 0xff, 0x80]) },
    { oid: '1.3.6.1.2.1.10.95.1.7.1.5.300.7', type: snmp.ObjectType['OctetString'] ?? 4, value: 'jörg@isp-a.example' },
    { oid: '1.3.6.1.2.1.10.95.1.5.1.12.300', type: snmp.ObjectType['Counter'] ?? 65, value: counter32(2 ** 32 - 1) },
    { oid: '1.3.6.1.2.1.10.95.1.5.1.16.300', type: snmp.ObjectType['Counter'] ?? 65, value: counter32(2 ** 40 + 3) },
  ];
  const pdu = snmp.AgentXPdu.createFromVariables({ pduType: snmp.AgentXPduType['Response'] ?? 18, varbinds }).toBuffer();
  assert.equal(pdu.readUInt32BE(16), pdu.length - 20, 'payload_length = the octets after the header');
  assert.ok(indexOf(pdu, [0, 0, 0, 4, 0x01, 0x00, 0xff, 0x80]) > 0, 'protocol version octets with 0xff/0x80 intact');
  const name = Buffer.from('jörg@isp-a.example', 'utf8');
  assert.ok(indexOf(pdu, [0, 0, 0, name.length, ...name, ...Array<number>((4 - (name.length % 4)) % 4).fill(0)]) > 0, 'UTF-8 name with its octet length and padding');
  assert.ok(indexOf(pdu, [0xff, 0xff, 0xff, 0xff]) > 0, 'Counter32 at its maximum');
  assert.ok(pdu.length % 4 === 0, 'every value padded to 4 octets');
});

test('cells from a view with counters beyond 2^32 wrap (Counter32) and a remote version 255.128 stays octets', () => {
  const big = 2 ** 33 + 17;
  const counters = { controlRx: big, controlTx: 0xffffffff, retransmits: 0, duplicates: 0, outOfWindow: 0, zlbTx: 0, zlbRx: 0, unknownAvpsIgnored: 0, dataRxPackets: 0, dataRxOctets: 0, dataTxPackets: 0, dataTxOctets: 0, dataDropped: 0 };
  const snap = mibSnapshot([
    { localTunnelId: 7, remoteTunnelId: 8, state: 'established', role: 'lns', localAddress: '192.0.2.1', localPort: 1701, remoteAddress: '198.51.100.7', remotePort: 1701, protocolVersion: '255.128', ns: 1, nr: 1, peerReceiveWindow: 4, counters, data: { rxPackets: 0, rxOctets: 0, txPackets: 0, txOctets: 0 }, sessions: [] },
  ]);
  const row = snap.tunnels[0];
  assert.ok(row !== undefined);
  const col = (n: number): unknown => TUNNEL_STATS_TABLE.columns.find((c) => c.number === n)?.value(row);
  assert.equal(col(12), 17);
  assert.equal(col(16), 0xffffffff);
  assert.deepEqual(col(8), Uint8Array.of(255, 128));
});
