/**
 * Human text for the daemon's v3 AVP debug log and for v3 wire errors. Cores never log; the daemon
 * calls these when it maps typed events to log lines. Secrets never reach these functions.
 */
import { V3_AVP_REGISTRY, formatV3ResultCode } from './avp-registry.js';
import { toHex } from '../../base/index.js';
import { v3MessageTypeName } from './message-specs.js';
import { V3MessageType, type V3ControlAvps, type V3WireError } from './types.js';

/** One line per AVP in registry order, then unknown and malformed ones. `type` picks the CDN result table. */
export function formatV3Avps(avps: V3ControlAvps, type?: number): string[] {
  const r = avps as Readonly<Record<string, unknown>>;
  const lines: string[] = [];
  for (const spec of V3_AVP_REGISTRY) {
    const v = r[spec.name];
    if (v === undefined) continue;
    if (spec.name === 'resultCode' && avps.resultCode !== undefined) {
      lines.push(`${spec.title}: ${formatV3ResultCode(avps.resultCode, type === V3MessageType.CDN)}`);
    } else {
      lines.push(`${spec.title}: ${spec.codec.format(v)}`);
    }
  }
  for (const u of avps.unknown ?? []) {
    lines.push(`Unknown AVP vendor ${u.vendorId} attribute ${u.attribute}${u.mandatory ? ' M' : ''}${u.hidden ? ' H' : ''}: 0x${toHex(u.value)} (${u.value.length} bytes)`);
  }
  for (const m of avps.malformed ?? []) lines.push(`Ignored malformed AVP ${m.attribute}: ${m.detail}`);
  return lines;
}

/** One-line text of a V3WireError for logs. */
export function v3WireErrorText(e: V3WireError): string {
  switch (e.kind) {
    case 'truncated':
      return `truncated: need ${e.need} bytes, have ${e.have}`;
    case 'bad-version':
      return `bad version ${e.version} (want 3)`;
    case 'bad-length':
      return `bad ${e.field} length: ${e.detail}`;
    case 'bad-flags':
      return `bad header flags: ${e.detail}`;
    case 'not-control':
      return `session ${e.sessionId} data message on the control path`;
    case 'first-avp-not-message-type':
      return 'first AVP is not Message Type';
    case 'unknown-message-type':
      return `unknown message type ${e.messageType}${e.mandatory ? ' (M bit set)' : ''}`;
    case 'unknown-mandatory-avp':
      return `unknown mandatory AVP vendor ${e.vendorId} attribute ${e.attribute}`;
    case 'bad-avp-value':
      return `bad value in AVP ${e.attribute}: ${e.detail}`;
    case 'duplicate-avp':
      return `duplicate AVP ${e.attribute}`;
    case 'missing-avp':
      return `${v3MessageTypeName(e.messageType)} without required AVP ${e.name} (${e.attribute})`;
    case 'hidden-without-secret':
      return `hidden AVP ${e.attribute} but no shared secret`;
    case 'hidden-without-random-vector':
      return `hidden AVP ${e.attribute} without a preceding Random Vector`;
    case 'bad-hidden':
      return `bad hidden AVP ${e.attribute}: ${e.detail}`;
    case 'bad-digest-position':
      return `Message Digest not right after Message Type: ${e.detail}`;
    case 'missing-digest':
      return 'no Message Digest but control message authentication is on';
    case 'bad-digest':
      return `Message Digest (type ${e.digestType}) does not verify`;
    case 'zlb-with-authentication':
      return 'ZLB while control message authentication is on (ACK expected)';
  }
}
