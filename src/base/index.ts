/**
 * base: dependency-free building blocks every layer may import — time as a value, Result,
 * injected randomness. No I/O here.
 */
export * from './time.js';
export * from './result.js';
export * from './random.js';
export * from './queue.js';
export * from './pacer.js';
export * from './ipv4.js';
export * from './ipv6.js';
export * from './ip.js';
export * from './checksum.js';
export * from './bytes.js';
export * from './token-bucket.js';
