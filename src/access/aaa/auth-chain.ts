/**
 * Which backend decides a PPP authentication, in the configured order (`radius`, `local`, or both,
 * e.g. `radius,local`): the next one is asked when the current one gives no answer (RADIUS: no
 * server answered; users file: no such user) or, if configured, when it rejects. Pure: the shell
 * asks the backends and feeds their answers in.
 */
import { verifyLocally, type AuthRequest } from '../../ppp/index.js';
import type { UserDirectory } from '../directory.js';
import { type AccessAuthResult, NO_AUTHORIZATION } from './types.js';

/** A backend. */
export type AuthBackendName = 'radius' | 'local';
/** When to ask the next backend. */
export type AuthFallback = 'timeout' | 'reject';

/** The order and the fallback rule. */
export interface AuthChainConfig {
  readonly order: readonly AuthBackendName[];
  /** Default ['timeout']: a reject is final. */
  readonly fallbackOn: readonly AuthFallback[];
}

/** What one backend said. */
export type BackendAnswer = { readonly kind: 'decided'; readonly result: AccessAuthResult } | { readonly kind: 'no-answer'; readonly why: string };

/** The outcome of one step: the final result, or the index of the backend to ask next. */
export type ChainStep =
  | { readonly done: AccessAuthResult; readonly tried: readonly string[] }
  | { readonly next: AuthBackendName; readonly index: number; readonly tried: readonly string[] };

/** The users file as a backend: unknown user = no answer; wrong password = reject. */
export function localAnswer(request: AuthRequest, users: UserDirectory): BackendAnswer {
  if (users.lookup(request.username) === undefined) return { kind: 'no-answer', why: `no user "${request.username}" in the users file` };
  const decision = verifyLocally(request, users);
  return { kind: 'decided', result: { decision, source: 'local', ...(decision.ok ? { authorization: NO_AUTHORIZATION } : {}) } };
}

/** Start: the first backend. */
export function firstStep(cfg: AuthChainConfig): ChainStep {
  const first = cfg.order[0];
  return first === undefined ? { done: { decision: { ok: false, message: 'no authentication backend' }, source: 'local' }, tried: [] } : { next: first, index: 0, tried: [] };
}

/**
 * Feed the answer of backend `index`; `tried` collects the reasons of the backends that gave no
 * answer, for the log.
 */
export function nextStep(cfg: AuthChainConfig, index: number, answer: BackendAnswer, tried: readonly string[] = []): ChainStep {
  const name = cfg.order[index] ?? 'local';
  const more = index + 1 < cfg.order.length;
  if (answer.kind === 'decided') {
    const rejected = !answer.result.decision.ok;
    if (rejected && more && cfg.fallbackOn.includes('reject')) return { next: cfg.order[index + 1] ?? 'local', index: index + 1, tried: [...tried, `${name}: rejected`] };
    return { done: answer.result, tried };
  }
  const why = [...tried, `${name}: ${answer.why}`];
  // An unknown local user always falls through; a RADIUS timeout only with fallback on "timeout".
  if (more && (cfg.fallbackOn.includes('timeout') || name === 'local')) return { next: cfg.order[index + 1] ?? 'local', index: index + 1, tried: why };
  return { done: { decision: { ok: false, message: name === 'radius' ? 'authentication service unavailable' : 'Login incorrect' }, source: name }, tried: why };
}
