/**
 * Header of a message review republished from a stream (`<stream>:<seq>` of the stored original),
 * so a consumer or an operator reading the stream can tell a replay from a first delivery.
 * Review's own: no other service needs to act on it.
 */
export const REPLAY_OF_HEADER = 'Calsync-Replay-Of'
