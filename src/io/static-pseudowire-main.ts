/**
 * Temporary runner for one static pseudowire, used by the interop tests until the daemon has config
 * sections for it: `node dist/src/io/static-pseudowire-main.js '<StaticPseudowireSettings JSON>' [fast]` (`fast`: the native
 * fast path, v3-fast-path.ts).
 * Prints `READY {"tap":NAME}` once forwarding, `STATS {...}` (StaticPseudowireStatus) on SIGUSR1 and
 * before exiting on SIGTERM/SIGINT, and `ERROR text` lines for socket/TAP errors. Exit 2 on bad
 * settings, 1 when the system refuses the TAP or socket.
 */
import { StaticPseudowire, type StaticPseudowireSettings } from './static-pseudowire.js';

async function main(): Promise<number> {
  const arg = process.argv[2];
  if (arg === undefined) {
    console.error('usage: static-pseudowire-main SETTINGS_JSON');
    return 2;
  }
  const settings = JSON.parse(arg) as StaticPseudowireSettings;
  const fastPath = process.argv[3] === 'fast';
  const r = await StaticPseudowire.open(settings, { fastPath, onError: (e) => console.log(`ERROR ${e.message}`) });
  if (!r.ok) {
    console.error(`bad settings: ${r.error.join('; ')}`);
    return 2;
  }
  const spw = r.value;
  const stats = (): void => console.log(`STATS ${JSON.stringify(spw.status())}`);
  process.on('SIGUSR1', stats);
  const stop = (): void => {
    stats();
    spw.close();
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  console.log(`READY ${JSON.stringify({ tap: spw.tap.name, fastPath: fastPath && spw.fastPathError === undefined, ...(spw.fastPathError !== undefined ? { fastPathError: spw.fastPathError } : {}) })}`);
  return new Promise<number>(() => undefined); // runs until a signal
}

main().then(
  (code) => process.exit(code),
  (e: unknown) => {
    console.error(`static-pseudowire-main: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(1);
  },
);
