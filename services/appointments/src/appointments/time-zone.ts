const known = new Map<string, boolean>()

/**
 * Whether `name` is a time zone Intl knows (an IANA name such as Europe/Berlin, or UTC). Cal.com
 * refuses a booking whose attendee has any other, so accepting one would only turn into a sync
 * that fails for good; the answer is cached, the set of names being small and fixed.
 */
export function isTimeZone(name: string): boolean {
  let answer = known.get(name)
  if (answer === undefined) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: name })
      answer = true
    } catch {
      answer = false
    }
    // Only real names are kept: what a caller invents must not grow the cache.
    if (answer) known.set(name, answer)
  }
  return answer
}
