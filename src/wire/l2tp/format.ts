/**
 * Human text for the daemon's AVP-level debug log and for wire errors. Cores never log; the daemon
 * calls these when it maps typed events to log lines.
 */
import { toHex } from '../../base/index.js';
import { AVP_BY_ATTRIBUTE, AVP_REGISTRY, formatResultCode } from './avp-registry.js';
import { isMessageType, messageTypeName } from './message-specs.js';
import { MessageType, type ControlAvps, type ControlParseFailure, type WireError } from './types.js';


/**
 * One line per AVP in registry order, e.g. `Host Name: "lac1"`,
 * `Result Code: 1 (General request to clear) error 0`. `type` picks the CDN result-code table.
 */
export function formatAvps(avps: ControlAvps, type?: MessageType): string[] {
  const r = avps as Readonly<Record<string, unknown>>;
  const lines: string[] = [];
  for (const spec of AVP_REGISTRY) {
    const v = r[spec.name];
    if (v === undefined) continue;
    if (spec.name === 'resultCode' && avps.resultCode !== undefined) {
      lines.push(`${spec.title}: ${formatResultCode(avps.resultCode, type === MessageType.CDN)}`);
      continue;
    }
    lines.push(`${spec.title}: ${spec.codec.format(v)}`);
  }
  for (const u of avps.unknown ?? []) {
    lines.push(
      `Unknown AVP vendor ${u.vendorId} attribute ${u.attribute}${u.mandatory ? ' M' : ''}${u.hidden ? ' H' : ''}: 0x${toHex(u.value)} (${u.value.length} bytes)`,
    );
  }
  return lines;
}

/**
 * The debug-log lines of a refused message: its readable AVPs (`formatAvps`, unknown M=1 AVPs
 * included), then one line per AVP that could not be decoded, then a note if the scan stopped early.
 */
export function formatRefused(f: ControlParseFailure): string[] {
  const p = f.partial;
  if (p === undefined) return [];
  const lines = formatAvps(p.avps, isMessageType(p.messageType) ? p.messageType : undefined);
  for (const u of p.unreadable) {
    const title = AVP_BY_ATTRIBUTE.get(u.attribute)?.title ?? `AVP ${u.attribute}`;
    lines.push(`${title}${u.mandatory ? ' M' : ''}${u.hidden ? ' H' : ''}: unreadable (${wireErrorText(u.error)})`);
  }
  if (!p.complete) lines.push('(AVP framing broken: the rest of the message was not read)');
  return lines;
}

/** One-line text of a WireError for logs. */
export function wireErrorText(e: WireError): string {
  switch (e.kind) {
    case 'truncated':
      return `truncated: need ${e.need} bytes, have ${e.have}`;
    case 'bad-version':
      return `bad version ${e.version} (want 2)`;
    case 'bad-length':
      return `bad ${e.field} length: ${e.detail}`;
    case 'bad-flags':
      return `bad header flags: ${e.detail}`;
    case 'offset-too-large':
      return `offset size ${e.offsetSize} > max ${e.max}`;
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
      return `${messageTypeName(e.messageType)} without required AVP ${e.name} (${e.attribute})`;
    case 'zero-assigned-id':
      return `${messageTypeName(e.messageType)} with ${e.name} (${e.attribute}) 0, must be non-zero`;
    case 'hidden-without-secret':
      return `hidden AVP ${e.attribute} but no shared secret`;
    case 'hidden-without-random-vector':
      return `hidden AVP ${e.attribute} without a preceding Random Vector`;
    case 'bad-hidden':
      return `bad hidden AVP ${e.attribute}: ${e.detail}`;
  }
}
