/**
 * A scripted RADIUS server for tests and benchmarks of the client core: it parses what the client
 * sends (checking its authenticators with the shared secret) and builds correctly signed answers.
 * Not used by the daemon.
 */
import {
  RADIUS_CODE,
  checkAuthenticators,
  decodeAttributes,
  encodeSignedPacket,
  parseRadiusPacket,
  type AuthenticatorCheck,
  type DecodedAttributes,
  type RadiusAttribute,
  type RadiusPacket,
} from '../../src/wire/radius/index.js';
import { seededRandom } from '../../src/base/index.js';
import { RadiusClient, type RadiusClientOptions } from '../../src/aaa/radius/client.js';
import type { RadiusClientEvent, RadiusTransmit } from '../../src/aaa/radius/types.js';

/** A request as the fake server saw it. */
export interface SeenRequest {
  readonly packet: RadiusPacket;
  readonly decoded: DecodedAttributes;
  readonly check: AuthenticatorCheck;
  /** Offset of the first attribute's type (Message-Authenticator first is what we want). */
  readonly firstAttributeType: number | undefined;
}

/** Parse and check a request the client sent (throws on garbage: tests want to know). */
export function seeRequest(data: Uint8Array, secret: Uint8Array): SeenRequest {
  const p = parseRadiusPacket(data);
  if (!p.ok) throw new Error(`client sent a malformed packet: ${JSON.stringify(p.error)}`);
  return {
    packet: p.value,
    decoded: decodeAttributes(p.value, { secret, requestAuthenticator: p.value.authenticator }),
    check: checkAuthenticators(data, secret),
    firstAttributeType: p.value.attributes[0]?.type,
  };
}

/** Build a signed answer to `request` (optionally without Message-Authenticator, or under another secret). */
export function answer(request: RadiusPacket, secret: Uint8Array, code: number, attributes: readonly RadiusAttribute[] = [], opts: { readonly messageAuthenticator?: boolean; readonly identifier?: number } = {}): Uint8Array {
  const out = encodeSignedPacket(
    { code, identifier: opts.identifier ?? request.identifier, attributes, messageAuthenticator: opts.messageAuthenticator ?? true },
    secret,
    request.authenticator,
  );
  if (!out.ok) throw new Error(`cannot build answer: ${JSON.stringify(out.error)}`);
  return out.value;
}

/** The natural answer code for a request code (Accept for Access-Request and Status-Server). */
export function okCodeFor(requestCode: number): number {
  return requestCode === RADIUS_CODE.AccountingRequest ? RADIUS_CODE.AccountingResponse : RADIUS_CODE.AccessAccept;
}

/** The wall-clock time at instant 0 in the client tests. */
export const TEST_EPOCH = 1_700_000_000_000;

/** A client on a virtual clock: seeded randomness, wall clock TEST_EPOCH + now, a test NAS identity. */
export function testClient(o: Partial<RadiusClientOptions> & { readonly seed?: number }): RadiusClient {
  const { seed, ...rest } = o;
  return new RadiusClient({ nas: { ipAddress: '198.51.100.1' }, random: seededRandom(seed ?? 1), wallClock: (now) => TEST_EPOCH + now, ...rest });
}

/** Everything a poll function yields until it returns undefined. */
export function drainAll<T>(poll: () => T | undefined): T[] {
  const out: T[] = [];
  for (let x = poll(); x !== undefined; x = poll()) out.push(x);
  return out;
}

/** The client's queued transmits. */
export const takeTransmits = (c: RadiusClient): RadiusTransmit[] => drainAll(() => c.pollTransmit());
/** The client's queued events. */
export const takeEvents = (c: RadiusClient): RadiusClientEvent[] => drainAll(() => c.pollEvent());
