/**
 * A second decoder for the PPPoE codec: Wireshark's (tshark) dissector reads what src/wire/pppoe
 * emits. Every vector (test/vectors/pppoe.ts) is re-emitted by encodeDiscoveryFrame, plus frames
 * with every Broadband Forum sub-option tshark knows (TR-101 §3.9.3) on a QinQ-tagged PADR, and the
 * values tshark decodes must equal ours; the capture must have 0 malformed frames and 0 error or
 * warning expert items. Needs tshark (installed if missing, like every interop test).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { analyzeCapture, describeReport, ensureDebianPackages, isClean, makeWorkDir, removeWorkDir, requireRoot, run } from './lib/index.js';
import { DISCOVERY_VECTORS } from '../vectors/pppoe.js';
import { EtherType, PppoeCode, encodeDiscoveryFrame, parseMac, type DiscoveryFrame, type MacAddress } from '../../src/wire/pppoe/index.js';

let work = '';
let failed = true;

before(async () => {
  requireRoot();
  await ensureDebianPackages(['tshark']);
}, { timeout: 600_000 });

after(() => {
  if (work !== '') {
    if (failed) process.stderr.write(`pppoe-codec-tshark: artefacts kept in ${work}\n`);
    else removeWorkDir(work);
  }
});

/** A classic libpcap file (LINKTYPE_ETHERNET) of `frames`. */
function pcap(frames: readonly Uint8Array[]): Buffer {
  const head = Buffer.alloc(24);
  head.writeUInt32LE(0xa1b2c3d4, 0);
  head.writeUInt16LE(2, 4);
  head.writeUInt16LE(4, 6);
  head.writeUInt32LE(65535, 16);
  head.writeUInt32LE(1, 20);
  const parts: Buffer[] = [head];
  frames.forEach((f, i) => {
    const r = Buffer.alloc(16);
    r.writeUInt32LE(1_700_000_000 + i, 0);
    r.writeUInt32LE(f.length, 8);
    r.writeUInt32LE(f.length, 12);
    parts.push(r, Buffer.from(f));
  });
  return Buffer.concat(parts);
}

const FULL_LINE: DiscoveryFrame = {
  ethernet: {
    destination: parseMac('02:ac:00:00:00:01') as MacAddress,
    source: parseMac('02:00:00:00:00:01') as MacAddress,
    vlans: [{ tpid: 0x88a8, pcp: 0, dei: false, vid: 300 }, { tpid: 0x8100, pcp: 5, dei: false, vid: 42 }],
    ethertype: EtherType.pppoeDiscovery,
  },
  packet: {
    code: PppoeCode.PADR,
    sessionId: 0,
    tags: {
      serviceNames: ['isp-b.example'],
      hostUniq: Uint8Array.of(1, 2, 3, 4),
      acCookie: Uint8Array.of(9, 8, 7),
      relaySessionId: Uint8Array.of(0xaa, 0xbb),
      pppMaxPayload: 1500,
      accessLine: {
        circuitId: 'olt-7 xpon 0/3/1:12.1',
        remoteId: 'ont-4242',
        actualDataRateUpstream: 100_000,
        actualDataRateDownstream: 1_000_000,
        minimumDataRateUpstream: 1000,
        minimumDataRateDownstream: 2000,
        attainableDataRateUpstream: 3000,
        attainableDataRateDownstream: 4000,
        maximumDataRateUpstream: 5000,
        maximumDataRateDownstream: 6000,
        maximumInterleavingDelayUpstream: 16,
        actualInterleavingDelayDownstream: 8,
        accessLoopEncapsulation: { dataLink: 1, encaps1: 2, encaps2: 0 },
      },
    },
  },
};

const FIELDS = [
  'pppoe.code', 'pppoe.session_id', 'ieee8021ad.id', 'vlan.id', 'pppoed.tags.service_name', 'pppoed.tags.ac_name', 'pppoed.tags.host_uniq', 'pppoed.tags.ac_cookie',
  'pppoed.tags.relay_session_id', 'pppoed.tags.max_payload', 'pppoed.tags.generic_error', 'pppoed.tags.circuit_id', 'pppoed.tags.remote_id',
  'pppoed.tags.act_data_rate_up', 'pppoed.tags.act_data_rate_down', 'pppoed.tags.min_data_rate_up', 'pppoed.tags.attainable_data_rate_down',
  'pppoed.tags.max_data_rate_down', 'pppoed.tags.max_int_delay_up', 'pppoed.tags.act_int_delay_down', 'pppoed.tags.access_loop_encap.data_link',
  'pppoed.tags.access_loop_encap.encap_1',
] as const;

const hexs = (b: Uint8Array | undefined): string => (b === undefined ? '' : Buffer.from(b).toString('hex'));

/** What tshark should print for each field of `f` (occurrence=a, aggregator=","). */
function expected(f: DiscoveryFrame): string[] {
  const t = f.packet.tags;
  const a = t.accessLine;
  const n = (x: number | undefined): string => (x === undefined ? '' : String(x));
  const h8 = (x: number | undefined): string => (x === undefined ? '' : `0x${x.toString(16).padStart(2, '0')}`);
  return [
    `0x${f.packet.code.toString(16).padStart(2, '0')}`,
    `0x${f.packet.sessionId.toString(16).padStart(4, '0')}`,
    // tshark decodes a 0x88a8 S-tag as IEEE 802.1ad and a 0x8100 C-tag as 802.1Q.
    f.ethernet.vlans.filter((v) => v.tpid === 0x88a8).map((v) => String(v.vid)).join(','),
    f.ethernet.vlans.filter((v) => v.tpid === 0x8100).map((v) => String(v.vid)).join(','),
    (t.serviceNames ?? []).join(','),
    t.acName ?? '',
    hexs(t.hostUniq),
    hexs(t.acCookie),
    hexs(t.relaySessionId),
    t.pppMaxPayload === undefined ? '' : t.pppMaxPayload.toString(16).padStart(4, '0'),
    t.genericError ?? '',
    a?.circuitId ?? '',
    a?.remoteId ?? '',
    n(a?.actualDataRateUpstream),
    n(a?.actualDataRateDownstream),
    n(a?.minimumDataRateUpstream),
    n(a?.attainableDataRateDownstream),
    n(a?.maximumDataRateDownstream),
    n(a?.maximumInterleavingDelayUpstream),
    n(a?.actualInterleavingDelayDownstream),
    h8(a?.accessLoopEncapsulation?.dataLink),
    h8(a?.accessLoopEncapsulation?.encaps1),
  ];
}

test('tshark decodes every frame our PPPoE codec emits to the values we encoded; no malformed frame, no expert error or warning', { timeout: 120_000 }, async () => {
  work = makeWorkDir('pppoe-codec-tshark');
  const frames = [...DISCOVERY_VECTORS.map((v) => v.value), FULL_LINE];
  const file = join(work, 'ours.pcap');
  writeFileSync(file, pcap(frames.map(encodeDiscoveryFrame)));
  const report = await analyzeCapture(file);
  assert.ok(isClean(report), describeReport(report));
  const out = await run('tshark', ['-n', '-r', file, '-T', 'fields', '-E', 'separator=|', '-E', 'occurrence=a', '-E', 'aggregator=,', ...FIELDS.flatMap((x) => ['-e', x])], { timeoutMs: 60_000 });
  const lines = out.stdout.split('\n').filter((l) => l !== '');
  assert.equal(lines.length, frames.length);
  const problems: string[] = [];
  frames.forEach((f, i) => {
    const got = (lines[i] ?? '').split('|');
    const want = expected(f);
    FIELDS.forEach((field, k) => {
      // tshark prints bytes and strings as given; compare case-insensitively for the hex fields.
      if ((got[k] ?? '').toLowerCase() !== (want[k] ?? '').toLowerCase()) problems.push(`frame ${i + 1} ${field}: tshark "${got[k] ?? ''}", ours "${want[k] ?? ''}"`);
    });
  });
  assert.deepStrictEqual(problems, []);
  failed = false;
});
