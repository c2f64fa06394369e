/**
 * A minimal, hand-encoded L2TPv2 probe used to check the harness itself (independent of the project's
 * codecs). Run inside a namespace: `node udp-probe.js --to ADDR [--port 1701] [--mode sccrq|malformed]`.
 *  - sccrq:     SCCRQ -> expects SCCRP, then StopCCN -> expects a ZLB ack. Prints one JSON line.
 *  - malformed: sends a control header whose Length exceeds the datagram (tshark must flag it).
 */
import { createSocket, type RemoteInfo } from 'node:dgram';

/*
 * RFC 2661 §3.1 control message header (T=1, L=1, S=1, Ver=2):
 *  0                   1                   2                   3
 *  0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 * |T|L|x|x|S|x|O|P|x|x|x|x|  Ver  |          Length               |
 * |           Tunnel ID           |           Session ID          |
 * |             Ns                |             Nr                |
 * RFC 2661 §4.1 AVP: |M|H| rsvd  |  Length (10 bits) | Vendor ID | Attribute Type | value...
 */

/** One AVP for {@link encodeControl}: attribute type and raw value (vendor 0, M bit set). */
export interface ProbeAvp {
  readonly type: number;
  readonly value: Uint8Array;
}

/** Encodes an L2TPv2 control message (mandatory IETF AVPs, none hidden). */
export function encodeControl(tunnelId: number, sessionId: number, ns: number, nr: number, avps: readonly ProbeAvp[]): Buffer {
  const len = 12 + avps.reduce((a, v) => a + 6 + v.value.length, 0);
  const b = Buffer.alloc(len);
  b.writeUInt16BE(0xc802, 0);
  b.writeUInt16BE(len, 2);
  b.writeUInt16BE(tunnelId, 4);
  b.writeUInt16BE(sessionId, 6);
  b.writeUInt16BE(ns, 8);
  b.writeUInt16BE(nr, 10);
  let o = 12;
  for (const a of avps) {
    b.writeUInt16BE(0x8000 | (6 + a.value.length), o);
    b.writeUInt16BE(0, o + 2);
    b.writeUInt16BE(a.type, o + 4);
    Buffer.from(a.value).copy(b, o + 6);
    o += 6 + a.value.length;
  }
  return b;
}

/** The parts of a received control message the probe looks at. */
export interface ProbeMessage {
  readonly tunnelId: number;
  readonly sessionId: number;
  readonly ns: number;
  readonly nr: number;
  /** Message Type AVP value; undefined for a ZLB. */
  readonly messageType: number | undefined;
  readonly avps: ReadonlyArray<{ readonly type: number; readonly hidden: boolean; readonly value: Buffer }>;
}

/** Decodes a control message with L and S bits; undefined for anything else (never throws). */
export function decodeControl(b: Buffer): ProbeMessage | undefined {
  if (b.length < 12) return undefined;
  const flags = b.readUInt16BE(0);
  if ((flags & 0xc80f) !== 0xc802) return undefined;
  const len = b.readUInt16BE(2);
  if (len > b.length || len < 12) return undefined;
  const avps: Array<{ type: number; hidden: boolean; value: Buffer }> = [];
  let o = 12;
  while (o + 6 <= len) {
    const h = b.readUInt16BE(o);
    const l = h & 0x3ff;
    if (l < 6 || o + l > len) return undefined;
    avps.push({ type: b.readUInt16BE(o + 4), hidden: (h & 0x4000) !== 0, value: b.subarray(o + 6, o + l) });
    o += l;
  }
  const first = avps[0];
  return {
    tunnelId: b.readUInt16BE(4),
    sessionId: b.readUInt16BE(6),
    ns: b.readUInt16BE(8),
    nr: b.readUInt16BE(10),
    messageType: first && first.type === 0 && first.value.length >= 2 ? first.value.readUInt16BE(0) : undefined,
    avps,
  };
}

const u16 = (v: number): Uint8Array => Uint8Array.of(v >> 8, v & 0xff);
const u32 = (v: number): Uint8Array => Uint8Array.of(v >>> 24, (v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff);

async function main(argv: readonly string[]): Promise<number> {
  const arg = (k: string, d?: string): string => {
    const i = argv.indexOf(k);
    const v = i >= 0 ? argv[i + 1] : d;
    if (v === undefined) throw new Error(`missing ${k}`);
    return v;
  };
  const to = arg('--to');
  const port = Number(arg('--port', '1701'));
  const mode = arg('--mode', 'sccrq');
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, r));
  const send = (b: Buffer): Promise<void> => new Promise((r, j) => sock.send(b, port, to, (e) => (e ? j(e) : r())));
  const inbox: Array<{ msg: Buffer; from: RemoteInfo }> = [];
  let wake: (() => void) | undefined;
  sock.on('message', (msg, from) => {
    inbox.push({ msg, from });
    wake?.();
  });
  const receive = async (timeoutMs: number): Promise<ProbeMessage | undefined> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const next = inbox.shift();
      if (next) return decodeControl(next.msg);
      const left = deadline - Date.now();
      if (left <= 0) return undefined;
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        wake = () => {
          clearTimeout(t);
          r();
        };
      });
    }
  };
  try {
    if (mode === 'malformed') {
      // A 12-byte control header claiming 60 bytes (RFC 2661 §3.1 Length > datagram).
      const b = encodeControl(0, 0, 0, 0, []);
      b.writeUInt16BE(60, 2);
      await send(b);
      process.stdout.write(`${JSON.stringify({ sent: 'malformed' })}\n`);
      return 0;
    }
    const ourTunnel = 4242;
    await send(
      encodeControl(0, 0, 0, 0, [
        { type: 0, value: u16(1) }, // Message Type: SCCRQ
        { type: 2, value: Uint8Array.of(1, 0) }, // Protocol Version 1.0
        { type: 7, value: Buffer.from('l2k-probe') }, // Host Name
        { type: 3, value: u32(3) }, // Framing Capabilities: sync+async
        { type: 9, value: u16(ourTunnel) }, // Assigned Tunnel ID
      ]),
    );
    const sccrp = await receive(5000);
    if (!sccrp || sccrp.messageType !== 2) {
      process.stdout.write(`${JSON.stringify({ error: 'no SCCRP', got: sccrp ?? null })}\n`);
      return 1;
    }
    const assigned = sccrp.avps.find((a) => a.type === 9);
    const hostName = sccrp.avps.find((a) => a.type === 7);
    const peerTunnel = assigned ? assigned.value.readUInt16BE(0) : 0;
    await send(
      encodeControl(peerTunnel, 0, 1, (sccrp.ns + 1) & 0xffff, [
        { type: 0, value: u16(4) }, // Message Type: StopCCN
        { type: 9, value: u16(ourTunnel) },
        { type: 1, value: u16(1) }, // Result Code 1: general request to clear
      ]),
    );
    let acked = false;
    for (let i = 0; i < 5 && !acked; i++) {
      const m = await receive(3000);
      if (!m) break;
      if (m.nr >= 2) acked = true;
    }
    process.stdout.write(
      `${JSON.stringify({ sccrp: { tunnelId: sccrp.tunnelId, assignedTunnel: peerTunnel, hostName: hostName?.value.toString('latin1') ?? null, avpTypes: sccrp.avps.map((a) => a.type) }, stopccnAcked: acked })}\n`,
    );
    return acked ? 0 : 1;
  } finally {
    sock.close();
  }
}

const self = process.argv[1] ?? '';
if (self.endsWith('udp-probe.js') || self.endsWith('udp-probe.ts')) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      process.stderr.write(`udp-probe: ${String(e)}\n`);
      process.exit(2);
    },
  );
}
