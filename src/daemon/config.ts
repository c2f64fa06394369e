/**
 * l2tpd configuration: TOML (docs/CONFIG.md) checked against a schema table (config/schema.ts: one
 * row per key with its type, default and doc) and parsed once into a typed `DaemonConfig`
 * (config/types.ts). Every problem is a typed `ConfigError` naming the key path (`lac[0].lns`)
 * and, when it can be found, the line; unknown keys are errors with a suggestion.
 */
export { parseConfig, loadConfigFile, defaultConfig, formatConfigError, formatIpv4 } from './config/parse.js';
export { lineOf, locateKeys, suggest } from './config/locate.js';
export { DEFAULT_CONTROL_SOCKET, DEFAULT_STATE_DIR, SCHEMA, showSocketFor } from './config/schema.js';
export { checkExposure, configWarnings, isLoopbackAddress, ipsecListenerOf, type ConfigWarning } from './config/secure.js';
export { printConfig, SECRET_MASK, type PrintOptions } from './config/print.js';
export { configReference } from './config/reference.js';
export type {
  AccessSection, ConfigError, DaemonConfig, DaemonSection, IpsecPeerConfig, PppoeSection, TunnelSelectSection, IpsecSection, LacConfig, LacIpsecConfig, LacPppConfig, ListenConfig,
  LogLevel, PppAuthName, TunnelDefaults,
} from './config/types.js';
export type { RadiusDaeClientSection, RadiusDaeSection, RadiusSection, RadiusServerSection } from './config/types.js';
