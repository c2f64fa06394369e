/**
 * The production engine factory: the real sans-I/O `L2tpEngine` (src/l2tp), one per UDP socket.
 */
import { L2tpEngine } from '../l2tp/index.js';
import type { EngineFactory } from './daemon.js';

/** Build a real L2TPv2 engine. */
export const createL2tpEngine: EngineFactory = (config, random) => new L2tpEngine(config, { random });
