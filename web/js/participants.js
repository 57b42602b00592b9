// participants.js — the state behind the participants panel: everyone in the meeting (us
// included) with mic and camera state and raised hands, in a stable order, and the search of a
// long list. No DOM code; the UI renders list().

/**
 * @typedef {{userId: string, username: string, audio: boolean, video: boolean, hand: boolean,
 *            handAt: number, self: boolean, joinedAt: number}} Person
 */

/** Folds case and accents, so "ZOË" finds "zoe". @param {string} s */
export function fold(s) {
  return String(s).normalize('NFD').replace(/[\u0300-\u036f]/g, '').toLowerCase();
}

export class Roster {
  constructor() {
    /** @type {Map<string, Person>} */
    this.people = new Map();
    /** a counter: the order in which hands went up */
    this.handSeq = 0;
  }

  clear() {
    this.people.clear();
  }

  /**
   * Adds or updates a person (a raised hand is kept).
   * @param {{userId: string, username?: string, audio?: boolean, video?: boolean, joinedAt?: number}} p
   * @param {boolean} [self]
   */
  upsert(p, self = false) {
    const old = this.people.get(p.userId);
    this.people.set(p.userId, {
      userId: p.userId,
      username: typeof p.username === 'string' ? p.username : old?.username ?? '',
      audio: typeof p.audio === 'boolean' ? p.audio : old?.audio ?? true,
      video: typeof p.video === 'boolean' ? p.video : old?.video ?? true,
      hand: old?.hand ?? false,
      handAt: old?.handAt ?? 0,
      self: self || old?.self === true,
      joinedAt: typeof p.joinedAt === 'number' ? p.joinedAt : old?.joinedAt ?? 0,
    });
  }

  /** @param {string} userId */
  remove(userId) {
    this.people.delete(userId);
  }

  /** @param {string} userId @param {{audio?: boolean, video?: boolean}} m */
  setMedia(userId, m) {
    const p = this.people.get(userId);
    if (!p) return;
    if (typeof m.audio === 'boolean') p.audio = m.audio;
    if (typeof m.video === 'boolean') p.video = m.video;
  }

  /**
   * Raises or lowers a hand. Returns whether it changed (unknown people are ignored).
   * @param {string} userId @param {boolean} up
   */
  setHand(userId, up) {
    const p = this.people.get(userId);
    if (!p || p.hand === up) return false;
    p.hand = up;
    p.handAt = up ? ++this.handSeq : 0;
    return true;
  }

  /** @param {string} userId */
  hand(userId) {
    return this.people.get(userId)?.hand === true;
  }

  get count() {
    return this.people.size;
  }

  /** Raised hands, in the order they went up. */
  hands() {
    return [...this.people.values()].filter((p) => p.hand).sort((a, b) => a.handAt - b.handAt);
  }

  /**
   * The panel's list: raised hands first (in the order they went up), then us, then by name;
   * only those whose name contains every word of query (case and accents folded).
   * @param {string} [query]
   * @returns {Person[]}
   */
  list(query = '') {
    const words = fold(query).split(/\s+/).filter(Boolean);
    const all = [...this.people.values()].filter((p) => {
      const name = fold(p.username);
      return words.every((w) => name.includes(w));
    });
    return all.sort((a, b) => {
      if (a.hand !== b.hand) return a.hand ? -1 : 1;
      if (a.hand) return a.handAt - b.handAt;
      if (a.self !== b.self) return a.self ? -1 : 1;
      const byName = fold(a.username).localeCompare(fold(b.username));
      return byName || a.joinedAt - b.joinedAt || (a.userId < b.userId ? -1 : 1);
    });
  }
}
