/**
 * The interop harness: real third-party L2TP peers (Debian packages) in throw-away network namespaces,
 * tshark captures judged by tshark's own expert system, and our daemon driven through l2tpctl.
 * Everything needs root; a missing prerequisite fails the test with a clear message.
 */
export { requireRoot, ensureDebianPackages, makeWorkDir, removeWorkDir, isDebianPackageInstalled, run, repoRoot, sleep, tail, waitUntil } from './host.js';
export type { RunOptions, RunResult } from './host.js';
export { spawnIn, cleanupNowSync, trackNamespace, untrackNamespace } from './process.js';
export type { ManagedProcess, SpawnOptions, ExitStatus } from './process.js';
export { createTopology, ip, ipIn, sysctlIn } from './netns.js';
export type { Topology, TopologyNode } from './netns.js';
export { startCapture, analyzeCapture, parseExpertSummary, isClean, describeReport, listL2tpMessages, formatMessages, MESSAGE_NAMES } from './capture.js';
export type { Capture, CaptureOptions, CaptureReport, CapturedMessage, ExpertCounts } from './capture.js';
export { startXl2tpd, parseXl2tpdLog, renderXl2tpdConf, is } from './xl2tpd.js';
export type { Xl2tpd, Xl2tpdEvent, Xl2tpdOptions, Xl2tpdLacSection, Xl2tpdLnsSection } from './xl2tpd.js';
export { startL2tpd, renderL2tpdConfig, parseShownTunnels, parseLogLines, daemonPaths } from './l2tpd.js';
export type { L2tpd, L2tpdOptions, L2tpdLac, L2tpdListen, ShownTunnel, ShownSession, LogLine } from './l2tpd.js';

/** Debian packages the L2TPv2 control-plane interop tests need. */
export const INTEROP_PACKAGES = ['xl2tpd', 'tshark', 'iproute2', 'util-linux', 'ppp'] as const;
