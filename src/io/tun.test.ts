// TUN/TAP tests against the real kernel. They need root (CI runs as root) and FAIL otherwise.
// The device is created in the root namespace with a unique name, then moved into a fresh network
// namespace l2k-tun-<pid> where it gets 198.18.99.1/30; nothing is routed in the root namespace.
import { execFile } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { loadNative, nativeCandidatePaths, NativeIoError } from './native.js';
import { TunDevice, type PacketBatch } from './tun.js';
import {
  createNetns,
  deleteNetns,
  echoReplyFor,
  execInNetns,
  ICMP_ECHO_REPLY,
  ICMP_ECHO_REQUEST,
  requireTunPrivileges,
  writeIcmpEcho,
} from '../../test/lib/tun-packets.js';

const NETNS = `l2k-tun-${process.pid}`;
const IFNAME = `l2kt${process.pid.toString(36)}`;
const LOCAL = '198.18.99.1';
const PEER = '198.18.99.2';

/** Resolve when `cond()` holds, polling every 10 ms; reject after `ms`. */
async function waitFor(cond: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

const ipv4Dst = (p: Buffer): string => `${p[16]}.${p[17]}.${p[18]}.${p[19]}`;

describe('TunDevice (kernel)', () => {
  let tun: TunDevice | undefined;

  // A failed precondition fails every test with its message (a failing hook would only cancel them).
  let setupError: Error | undefined;
  const ready = (): void => {
    if (setupError !== undefined) throw setupError;
  };
  before(async () => {
    try {
      requireTunPrivileges();
      loadNative(); // NativeUnavailableError naming the path if the addon was not built
      await deleteNetns(NETNS);
      await createNetns(NETNS);
    } catch (e: unknown) {
      setupError = e instanceof Error ? e : new Error(String(e));
    }
  });

  after(async () => {
    tun?.close();
    await deleteNetns(NETNS);
  });

  it('lets the kernel choose the name when none is given', () => {
    ready();
    const t = TunDevice.open();
    try {
      assert.match(t.name, /^tun\d+$/);
      assert.equal(t.mode, 'tun');
      assert.ok(t.fd >= 0);
    } finally {
      t.close();
    }
    assert.equal(t.fd, -1);
    assert.equal(t.closed, true);
    t.close(); // idempotent
  });

  it('opens a TAP device for L2 bridging', () => {
    ready();
    const t = TunDevice.open({ name: `${IFNAME}p`, mode: 'tap' });
    try {
      assert.equal(t.name, `${IFNAME}p`);
      assert.equal(t.mode, 'tap');
    } finally {
      t.close();
    }
  });

  it('surfaces ioctl errors with errno text', () => {
    ready();
    const t = TunDevice.open({ name: `${IFNAME}e` });
    try {
      // The same name as a TAP: the kernel refuses with EINVAL.
      assert.throws(
        () => TunDevice.open({ name: `${IFNAME}e`, mode: 'tap' }),
        (e: unknown) =>
          e instanceof NativeIoError &&
          e.code === 'EINVAL' &&
          e.syscall === 'ioctl(TUNSETIFF)' &&
          e.message.includes(`cannot create tap interface '${IFNAME}e': EINVAL`),
      );
    } finally {
      t.close();
    }
    assert.throws(
      () => TunDevice.open({ name: 'x'.repeat(16) }),
      (e: unknown) => e instanceof TypeError && /longer than 15 characters/.test(e.message),
    );
    assert.throws(() => TunDevice.open({ maxPackets: 0 }), RangeError);
  });

  it('explains EACCES/EPERM for unprivileged callers', async () => {
    ready();
    // Copy the addon where uid 65534 can read it, then try as nobody and as root without capabilities.
    const dir = mkdtempSync(join(tmpdir(), 'l2k-native-'));
    try {
      chmodSync(dir, 0o755);
      const src = nativeCandidatePaths().find((p) => {
        try {
          copyFileSync(p, join(dir, 'a.node'));
          return true;
        } catch {
          return false;
        }
      });
      assert.ok(src !== undefined, 'addon file not found');
      chmodSync(join(dir, 'a.node'), 0o644);
      const script = `try{require(${JSON.stringify(join(dir, 'a.node'))}).openTun('${IFNAME}u',false);console.log('opened')}catch(e){console.log(e.message)}`;
      const run = (args: string[]): Promise<string> =>
        new Promise((resolve, reject) => {
          execFile('setpriv', [...args, process.execPath, '-e', script], { encoding: 'utf8', timeout: 10_000 }, (e, out, errOut) =>
            e === null ? resolve(out.trim()) : reject(new Error(`setpriv failed: ${errOut}`)),
          );
        });
      assert.equal(
        await run(['--reuid=65534', '--regid=65534', '--clear-groups']),
        'cannot open /dev/net/tun: EACCES (Permission denied) (run as root or grant CAP_NET_ADMIN)',
      );
      assert.equal(
        await run(['--bounding-set=-all', '--inh-caps=-all']),
        `cannot create tun interface '${IFNAME}u': EPERM (Operation not permitted) (run as root or grant CAP_NET_ADMIN)`,
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('delivers ping echo requests in batches; written echo replies make ping succeed', async () => {
    ready();
    tun = TunDevice.open({ name: IFNAME, maxPackets: 64 });
    assert.equal(tun.name, IFNAME);
    await tun.moveToNetns(NETNS);
    await tun.configure({ netns: NETNS, address: `${LOCAL}/30`, mtu: 1400, up: true });

    const requests: number[] = [];
    let replied = 0;
    const batchSizes: number[] = [];
    const dev = tun;
    dev.onPackets((batch: PacketBatch) => {
      batchSizes.push(batch.count);
      for (let i = 0; i < batch.count; i++) {
        const p = batch.packet(i);
        // IPv4 (not the IPv6 noise of a fresh link), ICMP, echo request to the peer.
        if (p.length < 28 || p[0] !== 0x45 || p[9] !== 1) continue;
        if (p[20] !== ICMP_ECHO_REQUEST || ipv4Dst(p) !== PEER) continue;
        requests.push(p.readUInt16BE(26));
        if (dev.write(echoReplyFor(p))) replied++;
      }
    });

    const r = await execInNetns(NETNS, 'ping', ['-c', '3', '-W', '1', '-i', '0.2', PEER]);
    assert.equal(r.code, 0, `ping failed: ${r.stdout} ${r.stderr}`);
    assert.match(r.stdout, /3 packets transmitted, 3 received/);
    assert.deepEqual(requests, [1, 2, 3]);
    assert.equal(replied, 3);
    assert.ok(batchSizes.length >= 1 && batchSizes.every((n) => n >= 1 && n <= 64));
    const s = dev.stats;
    assert.ok(s.rxPackets >= 3 && s.rxBatches >= 1 && s.rxBytes >= 3 * 84);
    assert.equal(s.txPackets, 3);
  });

  it('writeBatch of 200 echo requests comes back as kernel echo replies in batches of up to 64', async () => {
    ready();
    const dev = tun;
    assert.ok(dev !== undefined, 'previous test opens the device');
    const N = 200;
    const SIZE = 1000;
    const IDENT = 0x4c32;
    const buf = Buffer.alloc(N * SIZE);
    const offsets = new Uint32Array(N);
    const lengths = new Uint32Array(N);
    for (let i = 0; i < N; i++) {
      writeIcmpEcho(buf, i * SIZE, SIZE, ICMP_ECHO_REQUEST, PEER, LOCAL, IDENT, i);
      offsets[i] = i * SIZE;
      lengths[i] = SIZE;
    }
    const seen = new Set<number>();
    const sizes: number[] = [];
    dev.onPackets((batch) => {
      let mine = 0;
      for (let i = 0; i < batch.count; i++) {
        const p = batch.packet(i);
        if (p.length !== SIZE || p[9] !== 1 || p[20] !== ICMP_ECHO_REPLY || p.readUInt16BE(24) !== IDENT) continue;
        assert.equal(ipv4Dst(p), PEER);
        seen.add(p.readUInt16BE(26));
        mine++;
      }
      if (mine > 0) sizes.push(batch.count);
    });
    assert.equal(dev.writeBatch(buf, offsets, lengths, N), N);
    await waitFor(() => seen.size === N, 5000, `${N} echo replies (got ${seen.size})`);
    assert.ok(Math.max(...sizes) > 1, `expected batching, got batch sizes ${sizes.join(',')}`);
    assert.ok(Math.max(...sizes) <= 64);
    assert.ok(sizes.length < N);
  });

  it('pause stops delivery and resume picks up queued packets', async () => {
    ready();
    const dev = tun;
    assert.ok(dev !== undefined, 'previous test opens the device');
    let got = 0;
    dev.onPackets((batch) => {
      for (let i = 0; i < batch.count; i++) {
        const p = batch.packet(i);
        if (p[9] === 1 && p[20] === ICMP_ECHO_REPLY && p.readUInt16BE(24) === 0x7a7a) got++;
      }
    });
    dev.pause();
    const req = Buffer.alloc(100);
    writeIcmpEcho(req, 0, 100, ICMP_ECHO_REQUEST, PEER, LOCAL, 0x7a7a, 1);
    assert.equal(dev.write(req), true);
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(got, 0);
    dev.resume();
    await waitFor(() => got === 1, 2000, 'the queued echo reply');
  });

  it('packs maximal packets back to back in the slab without overlap (odd maxPacketSize)', async () => {
    ready();
    const t = TunDevice.open({ name: `${IFNAME}s`, maxPackets: 8, maxPacketSize: 1501 });
    try {
      await t.moveToNetns(NETNS);
      await t.configure({ netns: NETNS, address: '198.18.99.5/30', mtu: 1500, up: true });
      const N = 40;
      const SIZE = 1500;
      const buf = Buffer.alloc(N * SIZE);
      const offsets = new Uint32Array(N);
      const lengths = new Uint32Array(N).fill(SIZE);
      for (let i = 0; i < N; i++) {
        // The payload pattern depends on the absolute position, so every packet differs.
        writeIcmpEcho(buf, i * SIZE, SIZE, ICMP_ECHO_REQUEST, '198.18.99.6', '198.18.99.5', 0x5151, i);
        offsets[i] = i * SIZE;
      }
      const good = new Set<number>();
      let maxBatch = 0;
      t.onPackets((batch) => {
        maxBatch = Math.max(maxBatch, batch.count);
        for (let i = 0; i < batch.count; i++) {
          const p = batch.packet(i);
          if (p.length !== SIZE || p[20] !== ICMP_ECHO_REPLY || p.readUInt16BE(24) !== 0x5151) continue;
          const seq = p.readUInt16BE(26);
          const sent = buf.subarray(seq * SIZE + 28, (seq + 1) * SIZE);
          if (p.subarray(28).equals(sent)) good.add(seq);
        }
      });
      assert.equal(t.writeBatch(buf, offsets, lengths, N), N);
      await waitFor(() => good.size === N, 5000, `${N} intact replies (got ${good.size})`);
      assert.ok(maxBatch > 1 && maxBatch <= 8, `batch sizes up to ${maxBatch}`);
    } finally {
      t.close();
    }
  });

  it('a TAP device delivers Ethernet frames (ARP request for the peer)', async () => {
    ready();
    const t = TunDevice.open({ name: `${IFNAME}t`, mode: 'tap' });
    try {
      await t.moveToNetns(NETNS);
      await t.configure({ netns: NETNS, address: '198.18.99.9/30', up: true });
      let arp: Buffer | undefined;
      t.onPackets((batch) => {
        for (const f of batch) {
          // Ethernet II: dst(6) src(6) type(2); ARP (RFC 826) target protocol address at frame bytes 38..41.
          if (f.length >= 42 && f.readUInt16BE(12) === 0x0806 && f.readUInt16BE(20) === 1) arp = Buffer.from(f);
        }
      });
      await execInNetns(NETNS, 'ping', ['-c', '1', '-W', '1', '198.18.99.10']); // no answer expected
      await waitFor(() => arp !== undefined, 3000, 'an ARP request');
      assert.deepEqual([...(arp ?? Buffer.alloc(0)).subarray(38, 42)], [198, 18, 99, 10]);
      assert.deepEqual([...(arp ?? Buffer.alloc(0)).subarray(0, 6)], [255, 255, 255, 255, 255, 255]);
    } finally {
      t.close();
    }
  });
});
