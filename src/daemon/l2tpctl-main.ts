/**
 * Entry point of `bin/l2tpctl.js`.
 */
import { runL2tpctl } from './l2tpctl-cli.js';

process.exit(await runL2tpctl(process.argv.slice(2)));
