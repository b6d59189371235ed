// What applying a tenants file of generation G does to one registry key. Every instance applies its
// own file at start, and during a rolling deploy old and new instances do so with different files:
// a record is therefore only ever changed by a file of its own generation or a newer one.
//
// | stored record                        | tenant in the file  | action                              |
// |--------------------------------------|---------------------|-------------------------------------|
// | none (never written, or deleted)     | yes                 | create (generation G)               |
// | none                                 | no                  | keep                                |
// | clear text of an earlier version     | yes                 | write (sealed, generation G)        |
// | clear text of an earlier version     | no, G > 0           | remove (removal record, G)          |
// | clear text of an earlier version     | no, G = 0           | seal (its own content, generation 0)|
// | not understood (no generation)       | yes                 | write                               |
// | not understood                       | no                  | keep                                |
// | generation g > G (any content)       | either              | keep: a newer deployment owns it    |
// | g = G, same content, not removed     | yes                 | keep                                |
// | g = G, other content or removed      | yes                 | write                               |
// | g < G                                | yes                 | write (takes generation G)          |
// | g = G                                | no                  | keep: a sibling of G wrote it       |
// | g < G, removed                       | no                  | keep                                |
// | g < G, present                       | no                  | remove (removal record, G)          |
//
// A record sealed with another key ("foreign") has a readable generation but unreadable content: it
// is decided as a record whose content differs from the file's.

export type StoredState =
  | { kind: 'absent' }
  | { kind: 'legacy' }
  | { kind: 'unreadable' }
  | { kind: 'record'; generation: number; removed: boolean; sameAsFile: boolean }

export type ApplyAction = 'create' | 'write' | 'seal' | 'remove' | 'keep'

export function decideApply(stored: StoredState, inFile: boolean, generation: number): ApplyAction {
  switch (stored.kind) {
    case 'absent':
      return inFile ? 'create' : 'keep'
    case 'legacy':
      if (inFile) return 'write'
      return generation > 0 ? 'remove' : 'seal'
    case 'unreadable':
      return inFile ? 'write' : 'keep'
    case 'record': {
      if (stored.generation > generation) return 'keep'
      if (inFile) return stored.generation === generation && stored.sameAsFile && !stored.removed ? 'keep' : 'write'
      return stored.generation < generation && !stored.removed ? 'remove' : 'keep'
    }
  }
}
