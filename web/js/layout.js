// layout.js — which tiles the meeting page shows, and where: the grid view (pages of at most
// PAGE_SIZE tiles, the active speaker highlighted) and the speaker view (the active speaker large, a
// strip of others). Pure state, no DOM: app.js feeds it the participants (in join order) and the
// server's `active-speakers`, ui.js renders what view() returns. A tile that view() does not show
// gets no video from the SFU (ui.js reports it hidden in video-views); its audio goes on.
//
// - Participants keep their join order (our own tile first), so a new joiner lands on the last page
//   and the page being looked at keeps its people: the page choice survives new joiners. When people
//   leave and the pages get fewer, the page is clamped to the last one.
// - Speaker view: the main tile is the first of the recent speakers that is someone else and still
//   here (the active speaker, or, while we speak, the one before us); before anybody spoke, the first
//   other participant; alone, our own tile. The strip shows the others, recent speakers first, then
//   in join order, at most `stripSize` of them (set by the renderer from the room it has).

export const PAGE_SIZE = 16;
export const STRIP_MAX = 8;

/**
 * @typedef {object} LayoutView
 * @property {'grid'|'speaker'} mode
 * @property {number} page         0-based, grid view
 * @property {number} pageCount    at least 1
 * @property {string[]} ids        every participant the layout places (the tiles of others ids, e.g. added
 *                                 by another feature, are not its business)
 * @property {string[]} shown      the userIds on screen, in display order (speaker view: main first)
 * @property {string|null} main    speaker view: the large tile
 * @property {string|null} active  the dominant speaker when known and here (may be us): highlighted
 */

export class LayoutState {
  /** @param {{pageSize?: number, stripSize?: number}} [opts] */
  constructor(opts = {}) {
    this.pageSize = Math.max(1, opts.pageSize ?? PAGE_SIZE);
    this.stripSize = Math.max(1, Math.min(STRIP_MAX, opts.stripSize ?? STRIP_MAX));
    /** @type {'grid'|'speaker'} */
    this.mode = 'grid';
    this.page = 0;
    /** @type {string[]} our own id first, then the others in join order */
    this.ids = [];
    /** @type {string|null} */
    this.selfId = null;
    /** @type {string[]} the server's recent speakers, the dominant one first */
    this.speakers = [];
  }

  /** @param {string|null} id */
  setSelf(id) {
    this.selfId = id;
    if (id) this.ids = [id, ...this.ids.filter((x) => x !== id)];
  }

  /** A participant joined (appended: the pages before it do not move). @param {string} id */
  add(id) {
    if (!this.ids.includes(id)) this.ids.push(id);
  }

  /** @param {string} id */
  remove(id) {
    this.ids = this.ids.filter((x) => x !== id);
  }

  /** Everyone out (leaving the meeting); the mode stays the person's choice. */
  clear() {
    this.ids = [];
    this.selfId = null;
    this.speakers = [];
    this.page = 0;
  }

  /** The server's active-speakers list (ids not in the meeting are skipped when used). @param {unknown} list */
  setSpeakers(list) {
    this.speakers = Array.isArray(list) ? list.filter((x) => typeof x === 'string') : [];
  }

  /** @param {'grid'|'speaker'} mode */
  setMode(mode) {
    if (mode === 'grid' || mode === 'speaker') this.mode = mode;
  }

  /** @param {number} n  how many strip tiles the renderer has room for */
  setStripSize(n) {
    this.stripSize = Math.max(1, Math.min(STRIP_MAX, Math.floor(n) || 1));
  }

  get pageCount() {
    return Math.max(1, Math.ceil(this.ids.length / this.pageSize));
  }

  /** Goes to page n (clamped). @param {number} n */
  setPage(n) {
    this.page = Math.max(0, Math.min(this.pageCount - 1, Math.floor(n) || 0));
  }

  /** The dominant speaker if here (may be us), else null. */
  get active() {
    const first = this.speakers[0];
    return first !== undefined && this.ids.includes(first) ? first : null;
  }

  /** @returns {LayoutView} */
  view() {
    this.setPage(this.page);
    const { mode, page, pageCount } = this;
    if (mode === 'grid') {
      const shown = this.ids.slice(page * this.pageSize, (page + 1) * this.pageSize);
      return { mode, page, pageCount, ids: [...this.ids], shown, main: null, active: this.active };
    }
    const present = new Set(this.ids);
    const others = this.ids.filter((x) => x !== this.selfId);
    const spoke = this.speakers.filter((x, i, a) => present.has(x) && a.indexOf(x) === i);
    const main = spoke.find((x) => x !== this.selfId) ?? others[0] ?? this.selfId ?? null;
    const rest = [...spoke, ...this.ids].filter((x, i, a) => x !== main && a.indexOf(x) === i);
    const shown = main ? [main, ...rest.slice(0, this.stripSize)] : [];
    return { mode, page, pageCount, ids: [...this.ids], shown, main, active: this.active };
  }
}
