// AF_PACKET socket tests on a veth pair inside a network namespace this test creates (po-<random>).
// They need root (CAP_NET_RAW + CAP_SYS_ADMIN for setns; CI runs as root) and FAIL otherwise.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { runIp } from './tun.js';
import { createNetns, deleteNetns, requireTunPrivileges } from '../../test/lib/tun-packets.js';
import { NativeIoError } from './native.js';
import { PacketSocket, PacketType, type FrameBatch } from './packet-socket.js';
import { formatMac } from '../wire/pppoe/mac.js';

const NETNS = `po-${randomBytes(3).toString('hex')}`;

async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** A frame: destination, source, [tags...], EtherType, body. */
function frame(dst: string, src: Buffer, tags: readonly number[][], ethertype: number, body: Buffer): Buffer {
  const head = Buffer.concat([Buffer.from(dst.replace(/:/g, ''), 'hex'), src]);
  const t = Buffer.from(tags.flat());
  const et = Buffer.alloc(2);
  et.writeUInt16BE(ethertype);
  return Buffer.concat([head, t, et, body]);
}

const PADI_BODY = Buffer.from('1109000000040101 0000'.replace(/\s/g, ''), 'hex');

describe('PacketSocket (veth pair in a namespace)', () => {
  const sockets: PacketSocket[] = [];
  let setupError: Error | undefined;
  let macA: Buffer = Buffer.alloc(6);
  let macB: Buffer = Buffer.alloc(6);
  const ready = (): void => {
    if (setupError !== undefined) throw setupError;
  };
  const open = (iface: string, extra: Partial<Parameters<typeof PacketSocket.open>[0]> = {}): PacketSocket => {
    const s = PacketSocket.open({ interface: iface, netns: NETNS, ...extra });
    sockets.push(s);
    return s;
  };

  before(async () => {
    try {
      requireTunPrivileges();
      await createNetns(NETNS);
      await runIp(['-n', NETNS, 'link', 'add', 'po-a', 'type', 'veth', 'peer', 'name', 'po-b']);
      for (const i of ['po-a', 'po-b']) {
        await runIp(['netns', 'exec', NETNS, 'sysctl', '-qw', `net.ipv6.conf.${i}.disable_ipv6=1`]).catch(() => undefined);
        await runIp(['-n', NETNS, 'link', 'set', i, 'up']);
      }
      const mac = async (i: string): Promise<Buffer> => {
        const out = await runIp(['-n', NETNS, '-o', 'link', 'show', i]);
        const m = /link\/ether ([0-9a-f:]{17})/.exec(out);
        if (m?.[1] === undefined) throw new Error(`no MAC in ${out}`);
        return Buffer.from(m[1].replace(/:/g, ''), 'hex');
      };
      macA = await mac('po-a');
      macB = await mac('po-b');
    } catch (e: unknown) {
      setupError = e instanceof Error ? e : new Error(String(e));
    }
  });
  after(async () => {
    for (const s of sockets) s.close();
    await deleteNetns(NETNS);
  });

  it('reports the interface index, MAC and MTU', () => {
    ready();
    const a = open('po-a');
    assert.equal(formatMac(a.mac), [...macA].map((x) => x.toString(16).padStart(2, '0')).join(':'));
    assert.equal(a.mtu, 1500);
    assert.ok(a.ifindex > 0);
    assert.equal(a.wasUp, true);
  });

  it('delivers PPPoE discovery and session frames, batched, and filters every other EtherType', async () => {
    ready();
    const a = open('po-a');
    const b = open('po-b');
    const got: Buffer[] = [];
    const types: number[] = [];
    const sizes: number[] = [];
    a.onPackets((batch: FrameBatch) => {
      sizes.push(batch.count);
      for (let i = 0; i < batch.count; i++) {
        got.push(batch.copy(i));
        types.push(batch.packetType(i));
      }
    });
    const padi = frame('ff:ff:ff:ff:ff:ff', macB, [], 0x8863, PADI_BODY);
    assert.equal(b.send(padi), true);
    // Not PPPoE: IPv4, ARP and an 802.1Q-tagged IPv4 frame must not reach the socket.
    b.send(frame(formatMac(a.mac), macB, [], 0x0800, randomBytes(46)));
    b.send(frame('ff:ff:ff:ff:ff:ff', macB, [], 0x0806, randomBytes(28)));
    b.send(frame(formatMac(a.mac), macB, [[0x81, 0x00, 0x00, 0x0a]], 0x0800, randomBytes(46)));
    const N = 200;
    const buf = Buffer.alloc(N * 64);
    const offsets = new Uint32Array(N);
    const lengths = new Uint32Array(N);
    for (let i = 0; i < N; i++) {
      const body = Buffer.alloc(64 - 14);
      body.set([0x11, 0x00, 0x00, 0x01, 0x00, 44, 0xc0, 0x21], 0);
      body.writeUInt32BE(i, 10);
      frame(formatMac(a.mac), macB, [], 0x8864, body).copy(buf, i * 64);
      offsets[i] = i * 64;
      lengths[i] = 64;
    }
    assert.equal(b.sendBatch(buf, offsets, lengths, N), N);
    await waitFor(() => got.length >= N + 1, 3000, `${N + 1} frames (got ${got.length})`);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got.length, N + 1, 'exactly the PPPoE frames');
    assert.ok(got[0]?.equals(padi));
    assert.equal(types[0], PacketType.broadcast);
    for (let i = 0; i < N; i++) assert.ok(got[i + 1]?.equals(buf.subarray(i * 64, (i + 1) * 64)), `session frame ${i}`);
    assert.equal(types[1], PacketType.host);
    assert.ok(Math.max(...sizes) > 1, `expected batching, got ${sizes.join(',')}`);
  });

  it('gathers one frame from parts and never receives its own transmissions', async () => {
    ready();
    const a = open('po-a');
    const b = open('po-b');
    const atA: Buffer[] = [];
    const atB: Buffer[] = [];
    a.onPackets((batch) => {
      for (const f of batch) atA.push(Buffer.from(f));
    });
    b.onPackets((batch) => {
      for (const f of batch) atB.push(Buffer.from(f));
    });
    const head = frame(formatMac(a.mac), macB, [], 0x8864, Buffer.from('11000007000a', 'hex'));
    const ppp = Buffer.from('c021050200080000abcd', 'hex'); // LCP Terminate-Request
    assert.equal(b.send([head, ppp.subarray(0, 3), ppp.subarray(3)]), true);
    await waitFor(() => atA.length === 1, 3000, 'the gathered frame');
    assert.ok(atA[0]?.equals(Buffer.concat([head, ppp])));
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(atB.length, 0, 'no PACKET_OUTGOING copies');
  });

  it('puts back an 802.1Q tag the kernel stripped (and QinQ), or reports it when asked not to', async () => {
    ready();
    const a = open('po-a');
    const raw = open('po-a', { reinsertVlan: false });
    const b = open('po-b');
    const seen: Buffer[] = [];
    const vlans: ({ tpid: number; tci: number } | undefined)[] = [];
    const plain: Buffer[] = [];
    a.onPackets((batch) => {
      for (let i = 0; i < batch.count; i++) {
        seen.push(batch.copy(i));
        vlans.push(batch.strippedVlan(i));
      }
    });
    raw.onPackets((batch) => {
      for (let i = 0; i < batch.count; i++) plain.push(batch.copy(i));
    });
    const tagged = frame('ff:ff:ff:ff:ff:ff', macB, [[0x81, 0x00, 0x60, 0x64]], 0x8863, PADI_BODY);
    const qinq = frame('ff:ff:ff:ff:ff:ff', macB, [[0x88, 0xa8, 0x00, 0x0a], [0x81, 0x00, 0x00, 0x64]], 0x8863, PADI_BODY);
    assert.equal(b.send(tagged), true);
    assert.equal(b.send(qinq), true);
    await waitFor(() => seen.length === 2 && plain.length === 2, 3000, 'two tagged frames on both sockets');
    assert.ok(seen[0]?.equals(tagged), `tagged: ${seen[0]?.toString('hex')}`);
    assert.ok(seen[1]?.equals(qinq), `qinq: ${seen[1]?.toString('hex')}`);
    assert.deepStrictEqual(vlans[0], { tpid: 0x8100, tci: 0x6064 });
    assert.deepStrictEqual(vlans[1], { tpid: 0x88a8, tci: 0x000a });
    assert.ok(plain[0]?.equals(frame('ff:ff:ff:ff:ff:ff', macB, [], 0x8863, PADI_BODY)), 'tag left off');
  });

  it('refuses a missing interface, a missing namespace and a non-Ethernet interface with typed errors', () => {
    ready();
    const fail = (opts: Parameters<typeof PacketSocket.open>[0]): NativeIoError => {
      try {
        PacketSocket.open(opts);
      } catch (e: unknown) {
        assert.ok(e instanceof NativeIoError, String(e));
        return e;
      }
      throw new Error('opened');
    };
    const noIf = fail({ interface: 'po-nope', netns: NETNS });
    assert.equal(noIf.code, 'ENODEV');
    assert.match(noIf.message, /no interface 'po-nope' in po-/);
    const noNs = fail({ interface: 'po-a', netns: `${NETNS}-missing` });
    assert.equal(noNs.code, 'ENOENT');
    assert.match(noNs.message, /no such namespace/);
    const lo = fail({ interface: 'lo', netns: NETNS });
    assert.equal(lo.code, 'EINVAL');
    assert.match(lo.message, /not an Ethernet interface/);
    assert.throws(() => PacketSocket.open({ interface: 'x'.repeat(16) }), TypeError);
    assert.throws(() => PacketSocket.open({ interface: 'po-a', netns: NETNS, maxPackets: 0 }), RangeError);
  });

  it('is closed idempotently; sending afterwards is a typed error', () => {
    ready();
    const a = open('po-a');
    a.close();
    a.close();
    assert.equal(a.closed, true);
    assert.throws(() => a.send(Buffer.alloc(60)), (e: unknown) => e instanceof NativeIoError && e.code === 'EBADF');
  });
});
