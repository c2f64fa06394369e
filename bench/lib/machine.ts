/**
 * A one-paragraph description of the machine a benchmark ran on (cores, load, Node), for honest numbers.
 */
import { cpus, loadavg, totalmem, release } from 'node:os';

/** Load averages (1, 5, 15 min) formatted "a / b / c". */
export function loadAverage(): string {
  return loadavg()
    .map((x) => x.toFixed(2))
    .join(' / ');
}

/** Lines describing date, CPU, cores, load, memory, kernel and Node version. */
export function machineLines(): string[] {
  const c = cpus();
  return [
    `date:    ${new Date().toISOString()}`,
    `cpu:     ${c[0]?.model ?? 'unknown'} x ${c.length} logical cores (shared with other work)`,
    `load:    ${loadAverage()} (1/5/15 min)`,
    `memory:  ${(totalmem() / 2 ** 30).toFixed(1)} GiB, kernel ${release()}, node ${process.version}`,
  ];
}
