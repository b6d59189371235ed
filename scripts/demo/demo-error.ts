/** A step that did not hold: the message says what was expected and where to look. */
export class DemoError extends Error {
  override name = 'DemoError'
}
