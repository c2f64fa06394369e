/**
 * The L2TPv2 control-connection handshake (RFC 2661 §6.1–§6.3, §4.4.3): the AVPs of SCCRQ, SCCRP and
 * SCCCN, tunnel authentication by Challenge / Challenge Response, and the checks of the peer's
 * Protocol Version and Host Name. Pure functions over the handshake fields of one tunnel; the tunnel
 * (tunnel.ts) turns the verdicts into FSM events.
 */
import { constantTimeEqual, type RandomSource } from '../base/index.js';
import { createHash } from 'node:crypto';
import { MessageType, type ControlAvps, type ResultCode, type TunnelId } from '../wire/l2tp/index.js';
import type { TunnelSettings } from './api.js';
import type { Mutable } from './connection.js';
import { FRAMING_SYNC_ASYNC } from './session.js';

/** Challenge length we send. */
const CHALLENGE_LENGTH = 16;

/** The handshake state of one tunnel. */
export interface HandshakeState {
  readonly localId: TunnelId;
  readonly settings: TunnelSettings;
  tieBreaker?: Uint8Array | undefined;
  /** Challenge we sent; the peer's next message must answer it (§4.4.3). */
  ourChallenge?: Uint8Array | undefined;
  /** Challenge the peer sent; our next message answers it. */
  peerChallenge?: Uint8Array | undefined;
  remoteHostName?: string | undefined;
  remoteVendorName?: string | undefined;
  protocolVersion?: string | undefined;
}

/** Why a handshake message is not acceptable: the StopCCN cause and result, and an auth failure detail. */
export interface Refusal {
  readonly cause: string;
  readonly result: ResultCode;
  /** Set for authentication failures (reported as `tunnel-auth-failed`). */
  readonly authFailed?: string;
}

/** §4.4.3 Challenge Response: MD5(Message Type of the response as one octet + secret + challenge). */
export function challengeResponse(messageType: number, secret: Uint8Array, challenge: Uint8Array): Uint8Array {
  const h = createHash('md5');
  h.update(Uint8Array.of(messageType & 0xff));
  h.update(secret);
  h.update(challenge);
  return new Uint8Array(h.digest());
}

/** Lexicographic comparison of two tie breakers (§4.4.3: the lower value wins). */
export const compareBytes = (a: Uint8Array, b: Uint8Array): number => {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const d = (a[i] as number) - (b[i] as number);
    if (d !== 0) return d;
  }
  return a.length - b.length;
};

/** The AVPs SCCRQ and SCCRP share (§6.1, §6.2): version, host and vendor, capabilities, our id, window. */
function controlConnectionAvps(t: HandshakeState): Mutable<ControlAvps> {
  const s = t.settings;
  const avps: Mutable<ControlAvps> = {
    protocolVersion: { version: 1, revision: 0 },
    hostName: s.hostName,
    framingCapabilities: FRAMING_SYNC_ASYNC,
    bearerCapabilities: 0,
    firmwareRevision: 0x0100,
    assignedTunnelId: t.localId,
    receiveWindowSize: s.tuning.receiveWindow,
  };
  if (s.vendorName !== undefined) avps.vendorName = s.vendorName;
  return avps;
}

/** SCCRQ (§6.1): with our tie breaker, and a challenge when a secret is set. */
export function sccrqAvps(t: HandshakeState, random: RandomSource): ControlAvps {
  const avps = controlConnectionAvps(t);
  if (t.tieBreaker !== undefined) avps.tieBreaker = t.tieBreaker;
  if (t.settings.secret !== undefined) {
    t.ourChallenge = random.bytes(CHALLENGE_LENGTH);
    avps.challenge = t.ourChallenge;
  }
  return avps;
}

/** SCCRP (§6.2): answers the peer's challenge and sends ours when a secret is set. */
export function sccrpAvps(t: HandshakeState, random: RandomSource): ControlAvps {
  const secret = t.settings.secret;
  const avps = controlConnectionAvps(t);
  if (secret !== undefined) {
    if (t.peerChallenge !== undefined) {
      avps.challengeResponse = challengeResponse(MessageType.SCCRP, secret, t.peerChallenge);
      t.peerChallenge = undefined;
    }
    t.ourChallenge = random.bytes(CHALLENGE_LENGTH);
    avps.challenge = t.ourChallenge;
  }
  return avps;
}

/** SCCCN (§6.3): the answer to the SCCRP's challenge, if any. */
export function scccnAvps(t: HandshakeState): ControlAvps {
  const avps: Mutable<ControlAvps> = {};
  const secret = t.settings.secret;
  if (secret !== undefined && t.peerChallenge !== undefined) {
    avps.challengeResponse = challengeResponse(MessageType.SCCCN, secret, t.peerChallenge);
    t.peerChallenge = undefined;
  }
  return avps;
}

/** Remember the peer's identity from SCCRQ/SCCRP; returns its Receive Window Size AVP. */
export function learnPeer(t: HandshakeState, a: ControlAvps): number | undefined {
  if (a.hostName !== undefined) t.remoteHostName = a.hostName;
  if (a.vendorName !== undefined) t.remoteVendorName = a.vendorName;
  if (a.protocolVersion !== undefined) t.protocolVersion = `${a.protocolVersion.version}.${a.protocolVersion.revision}`;
  return a.receiveWindowSize;
}

/** §4.4.3 Protocol Version must be 1.0; else StopCCN result 5, error = highest version supported. */
export function judgeVersion(a: ControlAvps): Refusal | undefined {
  const v = a.protocolVersion;
  if (v === undefined || (v.version === 1 && v.revision === 0)) return undefined;
  return {
    cause: 'bad-version',
    result: { result: 5, error: 0x0100, message: `protocol version ${v.version}.${v.revision} not supported; highest is 1.0` },
  };
}

/** Remote host name check (allowedHostNames; none configured = any). */
export function judgeHost(t: HandshakeState, a: ControlAvps): Refusal | undefined {
  const allowed = t.settings.allowedHostNames;
  if (allowed === undefined || allowed.length === 0) return undefined;
  if (a.hostName !== undefined && allowed.includes(a.hostName)) return undefined;
  const detail = `host name ${JSON.stringify(a.hostName ?? '')} not allowed`;
  return { cause: 'auth-failed', result: { result: 4, error: 0, message: detail }, authFailed: detail };
}

/** Check the Challenge Response to the challenge we sent (§4.4.3). */
export function judgeResponse(t: HandshakeState, a: ControlAvps, responseType: number): Refusal | undefined {
  const ours = t.ourChallenge;
  if (ours === undefined) return undefined;
  const secret = t.settings.secret as Uint8Array;
  const got = a.challengeResponse;
  let detail: string | undefined;
  if (got === undefined) detail = 'missing challenge response';
  else if (!constantTimeEqual(got, challengeResponse(responseType, secret, ours))) detail = 'wrong challenge response';
  if (detail === undefined) {
    t.ourChallenge = undefined;
    return undefined;
  }
  return { cause: 'auth-failed', result: { result: 4, error: 0, message: detail }, authFailed: detail };
}

/** A challenge from a peer when we have no secret to answer it with (StopCCN 4). */
export const NO_SECRET: Refusal = {
  cause: 'auth-failed',
  result: { result: 4 },
  authFailed: 'peer sent a challenge but no secret is configured',
};
