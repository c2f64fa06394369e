/**
 * io: the only layer with sockets, host timers, the clock and (native*) the addon. It drives the
 * sans-I/O cores: datagrams and timeouts in, transmits and typed events out. Must not import daemon.
 */
export { type Clock, now, systemClock } from './clock.js';
export { cryptoRandom } from './random.js';
export { TimerDriver, nodeScheduler, type TimerDriverOptions, type TimerScheduler } from './timer-driver.js';
export { Pump, type PolledCore, type PumpOptions, type Drainable } from './pump.js';
export {
  UdpEndpoint,
  L2TP_PORT,
  formatHostPort,
  ipFamily,
  peerFromRemoteInfo,
  type EndpointStats,
  type EndpointPump,
  type L2tpPort,
  type UdpEndpointOptions,
} from './udp-endpoint.js';
export { openIpsecL2tp, guessLocalIpv4, type IpsecL2tp, type IpsecL2tpOptions, type IpsecSocketStats } from './ipsec-transport.js';
export {
  StaticPseudowire,
  checkStaticPseudowireSettings,
  pseudowireSettingsOf,
  type StaticPseudowireSettings,
  type StaticPseudowireOptions,
  type StaticPseudowireStatus,
  type StaticTransportCounters,
} from './static-pseudowire.js';
export { RadiusClientShell, type RadiusClientShellOptions, type RadiusShellStats } from './radius-client-socket.js';
export { DaeSocket, type DaeSocketOptions } from './radius-dae-socket.js';
export { RadiusSpool, RadiusSpoolFullError, parseSpool, type RadiusSpoolContents, type RadiusSpoolOptions } from './radius-spool.js';
export { PacketSocket, FrameBatch, PacketType, type PacketSocketOptions } from './packet-socket.js';
export { PppoeAcPort, type PppoeAcPortOptions } from './pppoe-ac.js';
export { FAST_SESSION_FIELDS, NativeIoError, NativeUnavailableError } from './native.js';
export { PacketBatch, TunDevice, runIp } from './tun.js';
export { FastPathAttach, sumRowsByTunnel, tunnelSumsOf } from './fast-path.js';
export type { FastSessionCounters } from './fast-path.js';
export { NativeUdpSocket } from './native-udp.js';
export type { NativeEspStats, NativeFastPathStats } from './native.js';
export { NativeEspOffload, NativeEspSa } from './fast-path-esp.js';
export { ownSocketInodes, parseProcNetUdp, parseSnmp6Udp, parseSnmpUdp, readDeviceDrops, readUdpSnmp, readUdpSocket } from './kernel-stats.js';
export type { DeviceDrops, UdpSnmp, UdpSocketRow } from './kernel-stats.js';
export { V3Ipsec, type V3IpsecSettings, type V3IpsecOpenOptions } from './v3-ipsec.js';
export { DynamicPseudowires, type DynamicPseudowireOptions, type DynamicPseudowireStatus, type DynamicSessionStatus, type PseudowireTap } from './dynamic-pseudowire.js';
