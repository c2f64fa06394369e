/** Config and port helpers for the daemon-level tests that build a `Daemon` in process. */
import { createSocket } from 'node:dgram';
import { parseConfig, type DaemonConfig } from '../../src/daemon/config.js';

/** Parse a test's TOML; a config error fails the test with its message. */
export function daemonConfig(src: string): DaemonConfig {
  const r = parseConfig(src);
  if (!r.ok) throw new Error(JSON.stringify(r.error));
  return r.value;
}

/** A UDP port free on `address` right now (bound and closed again). */
export async function freeUdpPort(address = '127.0.0.1'): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, address, r));
  const p = s.address().port;
  s.close();
  return p;
}
