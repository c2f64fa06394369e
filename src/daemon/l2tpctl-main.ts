/**
 * Entry point of `bin/l2tpctl.js`.
 */
import { runL2tpctl } from './l2tpctl-cli.js';

const code = await runL2tpctl(process.argv.slice(2));
// Exit only once stdout is flushed: a pipe (`l2tpctl show sessions --json | jq`) takes large outputs
// asynchronously, and process.exit() at once would cut them off.
process.exitCode = code;
process.stdout.write('', () => process.exit(code));
