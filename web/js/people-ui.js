// people-ui.js — renders the participants panel, raised hands and floating reactions; owns no
// state (participants.js Roster and the app hold it). The reactions and the raise-hand button sit in
// a small tray above the controls (one button in the bar, so it fits a phone's width). Events
// (CustomEvent on this): `react` {emoji}, `hand` (the raise/lower button), `search` {query},
// `people-open` {open}.

import { REACTIONS } from './datachannel.js';

const REACTION_MS = 4000;

export class PeopleUI extends EventTarget {
  /** @param {Document} doc */
  constructor(doc) {
    super();
    this.doc = doc;
    const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (doc.getElementById(id));
    this.el = {
      panel: $('people-panel'), toggle: $('people-toggle'), close: $('people-close'),
      search: /** @type {HTMLInputElement} */ ($('people-search')), list: $('people-list'),
      tray: $('reaction-tray'), trayToggle: $('reactions-toggle'), hand: $('hand-button'), grid: $('grid'),
    };
    this.query = '';
    for (const emoji of REACTIONS) {
      const b = doc.createElement('button');
      b.type = 'button';
      b.className = 'reaction-btn';
      b.textContent = emoji;
      b.title = `React ${emoji}`;
      b.setAttribute('aria-label', `React ${emoji}`);
      b.dataset.testid = 'reaction-button';
      b.dataset.emoji = emoji;
      b.addEventListener('click', () => {
        this.setTrayOpen(false);
        this.#emit('react', { emoji });
      });
      this.el.tray.append(b);
    }
    this.el.hand.addEventListener('click', () => {
      this.setTrayOpen(false);
      this.#emit('hand');
    });
    this.el.trayToggle.addEventListener('click', () => this.setTrayOpen(this.el.tray.hidden));
    doc.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && !this.el.tray.hidden) this.setTrayOpen(false);
    });
    this.el.toggle.addEventListener('click', () => this.setOpen(this.el.panel.hidden));
    this.el.close.addEventListener('click', () => this.setOpen(false));
    this.el.search.addEventListener('input', () => {
      this.query = this.el.search.value;
      this.#emit('search', { query: this.query });
    });
  }

  /** @param {string} type @param {object} [detail] */
  #emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  /** @param {boolean} open */
  setOpen(open) {
    this.el.panel.hidden = !open;
    this.el.toggle.setAttribute('aria-expanded', String(open));
    if (open) this.el.search.focus();
    this.#emit('people-open', { open });
  }

  /** The tray of reactions and the hand button, above the controls. @param {boolean} open */
  setTrayOpen(open) {
    this.el.tray.hidden = !open;
    this.el.trayToggle.setAttribute('aria-expanded', String(open));
  }

  /** Our own hand button (and the tray's toggle shows a raised hand). @param {boolean} up */
  setHandButton(up) {
    const b = this.el.hand;
    this.el.trayToggle.dataset.hand = String(up);
    b.setAttribute('aria-pressed', String(up));
    b.setAttribute('aria-label', up ? 'Lower hand' : 'Raise hand');
    b.title = up ? 'Lower hand' : 'Raise hand';
  }

  /** @param {string} userId */
  #tile(userId) {
    for (const t of this.el.grid.querySelectorAll('[data-testid="tile"]')) {
      if (/** @type {HTMLElement} */ (t).dataset.userId === userId) return /** @type {HTMLElement} */ (t);
    }
    return null;
  }

  /** An emoji floats up over a participant's tile for a few seconds. @param {string} userId @param {string} emoji */
  showReaction(userId, emoji) {
    const tile = this.#tile(userId);
    if (!tile) return;
    const el = this.doc.createElement('span');
    el.className = 'tile-reaction';
    el.dataset.testid = 'tile-reaction';
    el.textContent = emoji;
    tile.append(el);
    setTimeout(() => el.remove(), REACTION_MS);
  }

  /**
   * The panel, the hands on the tiles: from the roster's list for the current search.
   * @param {import('./participants.js').Roster} roster
   */
  render(roster) {
    for (const t of this.el.grid.querySelectorAll('[data-testid="tile"]')) {
      const tile = /** @type {HTMLElement} */ (t);
      const up = roster.hand(tile.dataset.userId || '');
      let badge = /** @type {HTMLElement|null} */ (tile.querySelector('.tile-hand'));
      if (up && !badge) {
        badge = this.doc.createElement('span');
        badge.className = 'tile-hand';
        badge.dataset.testid = 'tile-hand';
        badge.title = 'Hand raised';
        badge.textContent = '✋';
        tile.append(badge);
      } else if (!up && badge) {
        badge.remove();
      }
      tile.dataset.hand = String(up);
    }
    const list = roster.list(this.query);
    const items = list.map((p) => {
      const li = this.doc.createElement('li');
      li.className = 'people-item';
      li.dataset.testid = 'people-item';
      li.dataset.userId = p.userId;
      li.dataset.hand = String(p.hand);
      li.dataset.audio = String(p.audio);
      li.dataset.video = String(p.video);
      const name = this.doc.createElement('span');
      name.className = 'people-name';
      name.dataset.testid = 'people-name';
      name.textContent = p.self ? `${p.username} (You)` : p.username;
      const state = this.doc.createElement('span');
      state.className = 'people-state';
      state.textContent = `${p.hand ? '✋ ' : ''}${p.audio ? 'mic on' : 'muted'} · ${p.video ? 'camera on' : 'camera off'}`;
      li.append(name, state);
      return li;
    });
    if (!items.length) {
      const li = this.doc.createElement('li');
      li.className = 'people-empty';
      li.textContent = 'Nobody by that name';
      items.push(li);
    }
    this.el.list.replaceChildren(...items);
  }
}
