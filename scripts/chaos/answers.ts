// Every HTTP answer a chaos run got from a calsync service, kept to count the 5xx answered while
// the service's dependencies were up.

export interface Answer {
  service: string
  status: number
  at: number
}

export interface Outage {
  what: 'nats' | 'database'
  from: number
  /** When the server answered again; open while it is down. */
  to?: number
}

export function createAnswerLog() {
  const answers: Answer[] = []
  const outages: Outage[] = []
  return {
    answers,
    outages,
    record(service: string, status: number) {
      answers.push({ service, status, at: Date.now() })
    },
    outage(what: Outage['what']) {
      const outage: Outage = { what, from: Date.now() }
      outages.push(outage)
      return () => {
        outage.to = Date.now()
      }
    },
  }
}

export type AnswerLog = ReturnType<typeof createAnswerLog>
