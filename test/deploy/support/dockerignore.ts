// .dockerignore matching as Docker does it (moby/patternmatcher): patterns are relative to the
// context root, `*` and `?` stay within one path segment, `**` spans any number of them, a
// pattern that matches a folder covers everything inside it, `!` re-includes, and the last
// matching pattern wins.

interface Rule {
  exclude: boolean
  pattern: RegExp
}

function toRegExp(pattern: string): RegExp {
  let source = ''
  for (let index = 0; index < pattern.length; index++) {
    const char = pattern[index] as string
    if (pattern.startsWith('**/', index)) {
      source += '(?:.*/)?'
      index += 2
    } else if (pattern.startsWith('**', index)) {
      source += '.*'
      index += 1
    } else if (char === '*') {
      source += '[^/]*'
    } else if (char === '?') {
      source += '[^/]'
    } else {
      source += char.replace(/[.+^${}()|[\]\\]/g, '\\$&')
    }
  }
  return new RegExp(`^${source}$`)
}

function cleanPath(path: string): string {
  return path.replace(/^(\.\/|\/)+/, '').replace(/\/+$/, '')
}

/** Returns whether a path (relative to the build context) is left out of the context. */
export function createDockerignore(text: string): (path: string) => boolean {
  const rules: Rule[] = text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('#'))
    .map((line) => {
      const exclude = !line.startsWith('!')
      return { exclude, pattern: toRegExp(cleanPath(exclude ? line : line.slice(1).trim())) }
    })
  return (path: string) => {
    const segments = cleanPath(path).split('/')
    const candidates = segments.map((_, index) => segments.slice(0, index + 1).join('/'))
    let excluded = false
    for (const rule of rules) {
      if (candidates.some((candidate) => rule.pattern.test(candidate))) excluded = rule.exclude
    }
    return excluded
  }
}
