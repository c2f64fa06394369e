/** A typed success-or-error value: bad input is a value, never a throw across a boundary (STYLE §5). */
export type Result<T, E> = { readonly ok: true; readonly value: T } | { readonly ok: false; readonly error: E };

/** Wrap a success. */
export const ok = <T>(value: T): { readonly ok: true; readonly value: T } => ({ ok: true, value });
/** Wrap an error. */
export const err = <E>(error: E): { readonly ok: false; readonly error: E } => ({ ok: false, error });
