import Type, { type TStringOptions } from 'typebox'

/**
 * No NUL anywhere: the database refuses a string holding one (a 500 for `GET /…/%00`), so the
 * schema does, with a 400. A regular expression, so the OpenAPI document tells clients too.
 */
export const TEXT_PATTERN = '^[^\\u0000]*$'

/**
 * The same, and at least one character that is neither whitespace nor NUL. No lookahead, which
 * not every generator of test data from a regular expression supports (the document is fuzzed).
 */
export const VISIBLE_TEXT_PATTERN = '^[^\\u0000]*[^\\s\\u0000][^\\u0000]*$'

/** A string from outside: bounded (`maxLength` is required) and free of NUL. */
export function ApiText(options: TStringOptions & { maxLength: number }) {
  return Type.String({ pattern: TEXT_PATTERN, ...options })
}

/** True when a string taken from outside other than through a schema (a cursor's content) is storable. */
export function isStorableText(value: string): boolean {
  return !value.includes('\u0000')
}
