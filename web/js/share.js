// share.js — screen sharing (signaling/PROTOCOL.md "Screen sharing"). No DOM code.
//
// Owns:
// - screenMidsOf(): which m-lines of the SFU's offer on "down" carry somebody's shared screen (the
//   SFU marks them a=content:slides, RFC 4796, in a stream of their own, "<userId>-screen");
// - Presentations: who is presenting, and which presentation is shown large. The choice: the
//   latest share is shown large (a new share takes the stage, as people expect when somebody
//   starts presenting); the others stay listed and the user may pick one, which then stays shown
//   until it ends or somebody starts a new share; when the shown one ends, the latest remaining
//   one is shown;
// - ScreenShare: our own share, from getDisplayMedia to its end, by our button (stop()) or by the
//   browser's own "stop sharing" control (the track's `ended`).
// rtc.js publishes the track (a second video m-line on "up") and reports remote screens; app.js
// ties them to the page; share-view.js renders.

/** The suffix of a screen's msid stream id after the sharer's userId. */
export const SCREEN_STREAM_SUFFIX = '-screen';

/**
 * The shared screens an SFU offer carries: for every m-section with a port, a=content:slides and an
 * msid stream id "<userId>-screen", its mid → that userId.
 * @param {string} sdp
 * @returns {Map<string, string>}
 */
export function screenMidsOf(sdp) {
  const out = new Map();
  const sections = String(sdp).split(/\r?\n(?=m=)/).slice(1);
  for (const section of sections) {
    const lines = section.split(/\r?\n/);
    if (/^m=\S+ 0 /.test(lines[0]) || !lines.includes('a=content:slides')) continue;
    const mid = lines.find((l) => l.startsWith('a=mid:'))?.slice(6).trim();
    const stream = lines.find((l) => l.startsWith('a=msid:'))?.slice(7).trim().split(/\s+/)[0];
    if (!mid || !stream || !stream.endsWith(SCREEN_STREAM_SUFFIX)) continue;
    const userId = stream.slice(0, -SCREEN_STREAM_SUFFIX.length);
    if (userId) out.set(mid, userId);
  }
  return out;
}

/**
 * @typedef {{userId: string, stream: MediaStream, key: string, local: boolean}} Presentation
 *   key: what identifies this share (the mid on "down", or "local"), so that the end of an older
 *   share of the same person does not remove a newer one
 */

/** Who presents, in the order they started, and which one is shown large. */
export class Presentations {
  constructor() {
    /** @type {Presentation[]} oldest first */
    this.list = [];
    /** @type {string|null} a presentation the user picked (userId); null: the latest */
    this.chosen = null;
  }

  /**
   * A share started (or replaced that person's earlier one): it is shown large.
   * @param {string} userId @param {MediaStream} stream @param {string} key @param {boolean} [local]
   */
  add(userId, stream, key, local = false) {
    this.list = this.list.filter((p) => p.userId !== userId);
    this.list.push({ userId, stream, key, local });
    this.chosen = null;
  }

  /**
   * A share ended; with key, only that share (not a newer one of the same person).
   * Returns whether something was removed.
   * @param {string} userId @param {string} [key]
   */
  remove(userId, key) {
    const before = this.list.length;
    this.list = this.list.filter((p) => p.userId !== userId || (key !== undefined && p.key !== key));
    if (this.chosen === userId && !this.list.some((p) => p.userId === userId)) this.chosen = null;
    return this.list.length !== before;
  }

  /** The user picks the presentation shown large. @param {string} userId */
  choose(userId) {
    if (this.list.some((p) => p.userId === userId)) this.chosen = userId;
  }

  /** @returns {Presentation|null} the one shown large */
  shown() {
    return this.list.find((p) => p.userId === this.chosen) || this.list[this.list.length - 1] || null;
  }

  /** @returns {Presentation[]} the others, oldest first */
  others() {
    const shown = this.shown();
    return this.list.filter((p) => p !== shown);
  }

  clear() {
    this.list = [];
    this.chosen = null;
  }
}

/**
 * Our own screen share. Events: `stopped` detail {reason: 'button'|'ended'|'left'} once a share
 * that started ends (the browser's own control ends the track: 'ended').
 */
export class ScreenShare extends EventTarget {
  /**
   * @param {(c: DisplayMediaStreamOptions) => Promise<MediaStream>} [getDisplayMedia]
   */
  constructor(getDisplayMedia) {
    super();
    this.getDisplayMedia = getDisplayMedia ||
      ((c) => navigator.mediaDevices.getDisplayMedia(c));
    /** @type {MediaStream|null} */
    this.stream = null;
  }

  /** Whether this browser can share a screen at all. */
  static supported() {
    return typeof navigator !== 'undefined' && !!navigator.mediaDevices &&
      typeof navigator.mediaDevices.getDisplayMedia === 'function';
  }

  get active() {
    return this.stream !== null;
  }

  /** @returns {MediaStreamTrack|null} */
  get track() {
    return this.stream ? this.stream.getVideoTracks()[0] || null : null;
  }

  /**
   * Asks the browser for a screen, window or tab (the browser's own picker; refused or cancelled:
   * rejects, nothing changes). Resolves with the stream; its video track is marked as detailed
   * content (text stays sharp rather than motion smooth).
   * @returns {Promise<MediaStream>}
   */
  async start() {
    if (this.stream) return this.stream;
    const stream = await this.getDisplayMedia({ video: { frameRate: { ideal: 15, max: 30 } }, audio: false });
    const track = stream.getVideoTracks()[0];
    if (!track) {
      for (const t of stream.getTracks()) t.stop();
      throw new Error('no video in the shared screen');
    }
    if ('contentHint' in track) track.contentHint = 'detail';
    for (const t of stream.getAudioTracks()) t.stop();
    this.stream = stream;
    track.addEventListener('ended', () => {
      if (this.stream === stream) this.#end('ended');
    });
    return stream;
  }

  /** Stops our share (nothing when none). @param {'button'|'left'} [reason] */
  stop(reason = 'button') {
    if (this.stream) this.#end(reason);
  }

  /** @param {'button'|'ended'|'left'} reason */
  #end(reason) {
    const stream = /** @type {MediaStream} */ (this.stream);
    this.stream = null;
    for (const t of stream.getTracks()) t.stop();
    this.dispatchEvent(new CustomEvent('stopped', { detail: { reason } }));
  }
}
