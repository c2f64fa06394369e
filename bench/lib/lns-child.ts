/**
 * A child process running only our LNS (bench/lib/lns.ts), started by bench/l2tp-setup.ts inside a
 * network namespace so that our LNS and xl2tpd are measured the same way: a separate process
 * behind the same veth (and by the soak, bench/soak/). Usage: `node lns-child.js ADDRESS PORT [TUNING-JSON]` (ChannelTuning fields, durations in ms). Prints
 * `ready ADDRESS:PORT` on stdout, then `status {counts}` every second; exits (printing `counts {json}`)
 * when stdin closes or on SIGTERM; bounded to 10 min.
 */
import { startLns } from './lns.js';
import type { ChannelTuning } from '../../src/l2tp/index.js';

const address = process.argv[2] ?? '127.0.0.1';
const port = Number(process.argv[3] ?? '1701');
const tuning = JSON.parse(process.argv[4] ?? '{}') as Partial<ChannelTuning>;
const lns = await startLns(address, port, 'l2tpkit-lns', tuning);
const stop = async (): Promise<void> => {
  process.stdout.write(`counts ${JSON.stringify(lns.counts)}\n`);
  await lns.close();
  process.exit(0);
};
process.stdin.on('end', () => void stop());
process.stdin.on('close', () => void stop());
process.stdin.resume();
process.on('SIGTERM', () => void stop());
setTimeout(() => void stop(), 600_000).unref();
setInterval(() => process.stdout.write(`status ${JSON.stringify(lns.counts)}\n`), 1000).unref();
process.stdout.write(`ready ${lns.endpoint.label}\n`);
