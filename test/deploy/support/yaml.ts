import { parse } from 'yaml'

/** Parses YAML the way Compose reads it: `<<` merge keys resolved, duplicate keys an error. */
export function parseYaml(text: string): unknown {
  return parse(text, { merge: true })
}
