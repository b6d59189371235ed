// How the demo talks: one block per step, what happened, where to look, and whether it held.

export interface Reporter {
  heading(text: string): void
  step(key: string, title: string): void
  line(text: string): void
  look(text: string): void
  held(key: string): void
  failed(key: string, message: string): void
}

export function createReporter(write: (text: string) => void, color: boolean): Reporter {
  const paint = (code: string, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text)
  return {
    heading: (text) => write(`${text}\n`),
    step: (key, title) => write(`\n${paint('1', `${key}. ${title}`)}\n`),
    line: (text) => write(`   ${text}\n`),
    look: (text) => write(`   ${paint('36', `look: ${text}`)}\n`),
    held: (key) => write(`   ${paint('32', `✓ ${key} held`)}\n`),
    failed: (key, message) => write(`   ${paint('31', `✗ ${key} failed: ${message}`)}\n`),
  }
}

/** `2026-12-01 14:00 UTC`: shorter than ISO, still unambiguous. */
export function showTime(iso: string | number): string {
  return `${new Date(iso).toISOString().slice(0, 16).replace('T', ' ')} UTC`
}
