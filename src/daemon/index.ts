/**
 * daemon: l2tpd and l2tpctl — TOML config, UDP listeners and LAC tunnels around the sans-I/O engines,
 * the unix control socket (newline-delimited JSON), pino logs (Yamaha wording) and Prometheus metrics.
 * Nothing imports this folder.
 */
export { parseConfig, loadConfigFile, defaultConfig, formatConfigError, DEFAULT_CONTROL_SOCKET } from './config.js';
export type { DaemonConfig, ConfigError, ListenConfig, LacConfig, TunnelDefaults, DaemonSection, LogLevel } from './config.js';
export { Daemon, VERSION, tunnelSettings, SHUTDOWN_RESULT, CLEAR_TUNNEL_RESULT, CLEAR_SESSION_RESULT } from './daemon.js';
export type { DaemonOptions, EngineFactory } from './daemon.js';
export { createL2tpEngine } from './engine-factory.js';
export { createLogger, prettyLine, type Logger, type LogFormat } from './logger.js';
export { logEvent } from './event-log.js';
export { DaemonMetrics, serveMetrics } from './metrics.js';
export { controlRequest, startControlServer, stopControlServer } from './control-socket.js';
export type { ControlRequest, ControlResponse, TunnelView, SessionView, StatusView } from './control-protocol.js';
export { runL2tpd, parseL2tpdArgs } from './l2tpd-cli.js';
export { runL2tpctl, commandToRequest } from './l2tpctl-cli.js';
