/**
 * Entry point of `bin/l2tpd.js`: runs the daemon with the real L2TP engine and exits with its code.
 */
import { createL2tpEngine } from './engine-factory.js';
import { runL2tpd } from './l2tpd-cli.js';

process.exit(await runL2tpd(process.argv.slice(2), createL2tpEngine));
