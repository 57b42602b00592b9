// ui.js — renders the app's state into the DOM of index.html and reports what the person does.
//
// Owns: every DOM lookup and DOM change of the app. It knows nothing of WebSockets or getUserMedia;
// app.js calls its render methods and listens to its intent events.
//
// Design
// - `UI` is an EventTarget. User intents are dispatched as CustomEvents: `new-meeting`,
//   `join-code` {text}, `setup-back`, `camera-change` {deviceId}, `mic-change` {deviceId},
//   `setup-toggle-mic`, `setup-toggle-cam`, `join-now` {name}, `toggle-mic`, `toggle-cam`,
//   `copy-link`, `leave`, `send-chat` {text}, `name-input` {name}, `layout-mode` {mode} (grid or
//   speaker view), `page` {page} (a grid page, 0-based).
// - Text from the network (names, chat) is only ever put in the page with textContent (never
//   innerHTML), so `<img onerror>` in a chat message shows as those characters.
// - Tiles are cloned from <template id="tile-template">; each carries data-user-id, data-username,
//   data-camera-off and data-muted. The grid's column count and tile size are computed here from
//   the stage size and the tile count (see #layout) and handed to the CSS as variables.
// - Which tiles are on screen and where (grid pages, speaker view) comes from layout.js through
//   renderLayout(); a tile not on screen is display:none, so videoViews() reports it hidden.
// - The chat panel's open/closed state and the unread count are view state and live here.

import { codePointLength } from './config.js';

/**
 * @typedef {object} TileInfo
 * @property {string} userId
 * @property {string} username
 * @property {boolean} audio
 * @property {boolean} video
 * @property {boolean} [local]
 */

const pad2 = (/** @type {number} */ n) => String(n).padStart(2, '0');

/**
 * Local time of a timestamp as HH:MM.
 * @param {number} ms
 */
export function formatTime(ms) {
  const d = new Date(ms);
  if (Number.isNaN(d.getTime())) return '';
  return `${pad2(d.getHours())}:${pad2(d.getMinutes())}`;
}

/**
 * Up to two initials of a name (code points, so emoji and non-Latin scripts work).
 * @param {string} name
 */
export function initials(name) {
  const words = String(name).trim().split(/\s+/).filter(Boolean);
  if (words.length === 0) return '?';
  const first = Array.from(words[0])[0] || '';
  const last = words.length > 1 ? Array.from(words[words.length - 1])[0] || '' : '';
  return (first + last).toUpperCase();
}

/**
 * A stable hue for an avatar.
 * @param {string} key
 */
function hueOf(key) {
  let h = 0;
  for (let i = 0; i < key.length; i++) h = (h * 31 + key.charCodeAt(i)) >>> 0;
  return h % 360;
}

/**
 * Grid geometry for `n` tiles in a `w`×`h` stage. Wide stages (≥ 768px): 1 column for one
 * person, 2 for up to 4, 3 for up to 9, 4 for up to 16, then 5; tiles are 16:9 and as large as
 * fits, but not smaller than 176px wide (the grid scrolls then). Narrow stages: one column, tiles
 * as wide as the stage and tall enough that up to three fill the height.
 * @param {number} n
 * @param {number} w
 * @param {number} h
 * @param {number} gap
 * @returns {{cols: number, tileW: number, tileH: number}}
 */
export function gridGeometry(n, w, h, gap) {
  const count = Math.max(1, n);
  if (w < 768) {
    const visible = Math.min(count, 3);
    const tileW = Math.max(0, w);
    let tileH = (h - gap * (visible - 1)) / visible;
    tileH = Math.min(tileH, tileW * 1.25);
    tileH = Math.max(tileH, Math.min(160, h));
    return { cols: 1, tileW: Math.floor(tileW), tileH: Math.floor(tileH) };
  }
  const cols = count <= 1 ? 1 : count <= 4 ? 2 : count <= 9 ? 3 : count <= 16 ? 4 : 5;
  const rows = Math.ceil(count / cols);
  let tileW = (w - gap * (cols - 1)) / cols;
  const fitH = (h - gap * (rows - 1)) / rows;
  tileW = Math.min(tileW, (fitH * 16) / 9);
  tileW = Math.max(tileW, Math.min(176, (w - gap * (cols - 1)) / cols));
  return { cols, tileW: Math.floor(tileW), tileH: Math.floor((tileW * 9) / 16) };
}

export class UI extends EventTarget {
  /** @param {Document} doc */
  constructor(doc) {
    super();
    this.doc = doc;
    const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (doc.getElementById(id));
    this.$ = $;
    this.pages = {
      landing: $('landing'), setup: $('setup'), meeting: $('meeting'),
    };
    this.el = {
      newMeeting: /** @type {HTMLButtonElement} */ ($('new-meeting')),
      joinForm: /** @type {HTMLFormElement} */ ($('join-form')),
      joinCode: /** @type {HTMLInputElement} */ ($('join-code')),
      codeError: $('code-error'),
      previewBox: $('preview-box'),
      preview: /** @type {HTMLVideoElement} */ ($('preview')),
      previewOffText: $('preview-off-text'),
      micLevel: $('mic-level'),
      setupMic: /** @type {HTMLButtonElement} */ ($('setup-mic')),
      setupCam: /** @type {HTMLButtonElement} */ ($('setup-cam')),
      mediaStatus: $('media-status'),
      cameraSelect: /** @type {HTMLSelectElement} */ ($('camera-select')),
      micSelect: /** @type {HTMLSelectElement} */ ($('mic-select')),
      joinNowForm: /** @type {HTMLFormElement} */ ($('join-now-form')),
      setupCode: $('setup-code'),
      nameInput: /** @type {HTMLInputElement} */ ($('name-input')),
      nameError: $('name-error'),
      joinNow: /** @type {HTMLButtonElement} */ ($('join-now')),
      setupBack: $('setup-back'),
      reconnecting: $('reconnecting'),
      reconnectingText: $('reconnecting-text'),
      reconnectingSpinner: $('reconnecting-spinner'),
      retryButton: /** @type {HTMLButtonElement} */ ($('retry-button')),
      grid: $('grid'),
      layoutButton: /** @type {HTMLButtonElement} */ ($('layout-button')),
      pager: $('pager'),
      pagePrev: /** @type {HTMLButtonElement} */ ($('page-prev')),
      pageNext: /** @type {HTMLButtonElement} */ ($('page-next')),
      pageLabel: $('page-label'),
      chatPanel: $('chat-panel'),
      chatClose: $('chat-close'),
      chatList: $('chat-list'),
      chatForm: /** @type {HTMLFormElement} */ ($('chat-form')),
      chatInput: /** @type {HTMLTextAreaElement} */ ($('chat-input')),
      chatSend: /** @type {HTMLButtonElement} */ ($('chat-send')),
      chatCounter: $('chat-counter'),
      clock: $('clock'),
      meetingCode: $('meeting-code'),
      muteButton: /** @type {HTMLButtonElement} */ ($('mute-button')),
      cameraButton: /** @type {HTMLButtonElement} */ ($('camera-button')),
      copyLink: $('copy-link'),
      leaveButton: $('leave-button'),
      participantCount: $('participant-count'),
      chatToggle: $('chat-toggle'),
      unreadBadge: $('unread-badge'),
      toasts: $('toasts'),
    };
    this.tileTemplate = /** @type {HTMLTemplateElement} */ ($('tile-template'));
    this.chatTemplate = /** @type {HTMLTemplateElement} */ ($('chat-item-template'));
    /** @type {Map<string, HTMLElement>} userId → tile */
    this.tiles = new Map();
    this.unread = 0;
    this.chatOpen = false;
    this.maxChatLength = 1000;
    this.maxNameLength = 50;
    /** @type {import('./layout.js').LayoutView|null} the layout rendered last */
    this.view = null;
    /** @type {ReturnType<typeof setInterval>|null} */
    this.clockTimer = null;
    this.resizeObserver = new ResizeObserver(() => this.#layout());
    this.resizeObserver.observe(this.el.grid);
    // The tiles' visibility matters to what the server sends (videoViews): say when it may change.
    this.el.grid.addEventListener('scroll', () => this.#emit('layout'), { passive: true });
    doc.addEventListener('visibilitychange', () => this.#emit('layout'));
    this.#bind();
  }

  /**
   * @param {string} type
   * @param {object} [detail]
   */
  #emit(type, detail = {}) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }

  #bind() {
    const e = this.el;
    e.newMeeting.addEventListener('click', () => this.#emit('new-meeting'));
    e.joinForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.#emit('join-code', { text: e.joinCode.value });
    });
    e.joinCode.addEventListener('input', () => this.showCodeError(null));
    e.setupBack.addEventListener('click', () => this.#emit('setup-back'));
    e.cameraSelect.addEventListener('change', () => this.#emit('camera-change', { deviceId: e.cameraSelect.value }));
    e.micSelect.addEventListener('change', () => this.#emit('mic-change', { deviceId: e.micSelect.value }));
    e.setupMic.addEventListener('click', () => this.#emit('setup-toggle-mic'));
    e.setupCam.addEventListener('click', () => this.#emit('setup-toggle-cam'));
    e.nameInput.addEventListener('input', () => {
      clampCodePoints(e.nameInput, this.maxNameLength);
      this.showNameError(null);
      this.#emit('name-input', { name: e.nameInput.value });
    });
    e.joinNowForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.#emit('join-now', { name: e.nameInput.value });
    });
    e.muteButton.addEventListener('click', () => this.#emit('toggle-mic'));
    e.retryButton.addEventListener('click', () => this.#emit('retry'));
    e.cameraButton.addEventListener('click', () => this.#emit('toggle-cam'));
    e.copyLink.addEventListener('click', () => this.#emit('copy-link'));
    e.layoutButton.addEventListener('click', () => {
      this.#emit('layout-mode', { mode: this.view?.mode === 'speaker' ? 'grid' : 'speaker' });
    });
    e.pagePrev.addEventListener('click', () => this.#emit('page', { page: (this.view?.page ?? 0) - 1 }));
    e.pageNext.addEventListener('click', () => this.#emit('page', { page: (this.view?.page ?? 0) + 1 }));
    e.leaveButton.addEventListener('click', () => this.#emit('leave'));
    e.chatToggle.addEventListener('click', () => this.setChatOpen(!this.chatOpen));
    e.chatClose.addEventListener('click', () => {
      this.setChatOpen(false);
      e.chatToggle.focus();
    });
    e.chatForm.addEventListener('submit', (ev) => {
      ev.preventDefault();
      this.#submitChat();
    });
    e.chatInput.addEventListener('keydown', (ev) => {
      // Enter sends; Shift+Enter makes a new line; Enter while composing (IME) does neither.
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        this.#submitChat();
      }
    });
    e.chatInput.addEventListener('input', () => this.#chatInputChanged());
    this.doc.addEventListener('keydown', (ev) => {
      if (ev.key === 'Escape' && this.chatOpen && !this.pages.meeting.hidden) this.setChatOpen(false);
    });
    // Links to "/" inside the app are handled by app.js (history navigation).
    for (const a of this.doc.querySelectorAll('a[data-link="home"]')) {
      a.addEventListener('click', (ev) => {
        const mev = /** @type {MouseEvent} */ (ev);
        if (mev.ctrlKey || mev.metaKey || mev.shiftKey || mev.button !== 0) return;
        ev.preventDefault();
        this.#emit('home');
      });
    }
  }

  /**
   * Shows one page and hides the others.
   * @param {'landing'|'setup'|'meeting'} name
   */
  showPage(name) {
    for (const [key, page] of Object.entries(this.pages)) page.hidden = key !== name;
    this.doc.body.dataset.page = name;
    if (name === 'meeting') {
      this.#startClock();
      this.#layout();
    } else {
      this.#stopClock();
    }
  }

  /** @param {string} title */
  setTitle(title) {
    this.doc.title = title ? `${title} – VideoMeet` : 'VideoMeet';
  }

  // ---------- Landing ----------

  /** @param {string|null} message */
  showCodeError(message) {
    const e = this.el;
    e.codeError.hidden = !message;
    e.codeError.textContent = message || '';
    if (message) e.joinCode.setAttribute('aria-invalid', 'true');
    else e.joinCode.removeAttribute('aria-invalid');
  }

  /** @param {boolean} busy */
  setNewMeetingBusy(busy) {
    this.el.newMeeting.disabled = busy;
  }

  focusLanding() {
    this.el.newMeeting.focus();
  }

  // ---------- Setup ----------

  /** @param {string} meetingId */
  setSetupMeeting(meetingId) {
    this.el.setupCode.textContent = meetingId;
  }

  /** @param {MediaStream|null} stream */
  setPreviewStream(stream) {
    attachStream(this.el.preview, stream);
  }

  /**
   * @param {{hasVideo: boolean, videoOn: boolean, hasAudio: boolean, audioOn: boolean, offText: string}} s
   */
  setPreviewState(s) {
    const e = this.el;
    e.previewBox.dataset.cameraOff = String(!(s.hasVideo && s.videoOn));
    e.previewOffText.textContent = s.offText;
    setToggle(e.setupMic, s.hasAudio, s.audioOn, 'microphone');
    setToggle(e.setupCam, s.hasVideo, s.videoOn, 'camera');
    e.micLevel.dataset.muted = String(!(s.hasAudio && s.audioOn));
  }

  /** @param {number} level 0..1 */
  setMicLevel(level) {
    const v = Math.max(0, Math.min(1, level));
    const fill = /** @type {HTMLElement} */ (this.el.micLevel.firstElementChild);
    fill.style.transform = `scaleX(${v.toFixed(3)})`;
    this.el.micLevel.setAttribute('aria-valuenow', String(Math.round(v * 100)));
  }

  /**
   * Fills a device picker. An empty list shows one disabled "none" entry.
   * @param {'camera'|'mic'} which
   * @param {{deviceId: string, label: string}[]} devices
   * @param {string} current
   */
  setDevices(which, devices, current) {
    const sel = which === 'camera' ? this.el.cameraSelect : this.el.micSelect;
    sel.replaceChildren();
    if (devices.length === 0) {
      const opt = this.doc.createElement('option');
      opt.value = '';
      opt.textContent = which === 'camera' ? 'No camera found' : 'No microphone found';
      sel.append(opt);
      sel.disabled = true;
      return;
    }
    for (const d of devices) {
      const opt = this.doc.createElement('option');
      opt.value = d.deviceId;
      opt.textContent = d.label;
      sel.append(opt);
    }
    sel.disabled = false;
    if (current && devices.some((d) => d.deviceId === current)) sel.value = current;
  }

  /**
   * A message about the devices under the preview, or null to hide it.
   * @param {string|null} text
   * @param {'error'|'info'} [kind]
   */
  setMediaStatus(text, kind = 'error') {
    const el = this.el.mediaStatus;
    el.hidden = !text;
    el.textContent = text || '';
    el.dataset.kind = kind;
  }

  /** @param {string} name */
  setName(name) {
    this.el.nameInput.value = name;
  }

  /** @param {number} max  in code points, like the server counts */
  setNameMax(max) {
    this.maxNameLength = max;
    clampCodePoints(this.el.nameInput, max);
  }

  /** @param {string|null} message */
  showNameError(message) {
    const e = this.el;
    e.nameError.hidden = !message;
    e.nameError.textContent = message || '';
    if (message) {
      e.nameInput.setAttribute('aria-invalid', 'true');
      e.nameInput.focus();
    } else {
      e.nameInput.removeAttribute('aria-invalid');
    }
  }

  /** @param {boolean} busy */
  setJoinBusy(busy) {
    const b = this.el.joinNow;
    b.disabled = busy;
    b.textContent = busy ? 'Joining…' : 'Join now';
  }

  focusName() {
    const input = this.el.nameInput;
    if (!input.value) input.focus();
  }

  // ---------- Meeting: tiles ----------

  /**
   * Adds a tile (or updates it if one exists for the userId).
   * @param {TileInfo} info
   * @returns {HTMLElement}
   */
  addTile(info) {
    let tile = this.tiles.get(info.userId);
    if (!tile) {
      const frag = /** @type {DocumentFragment} */ (this.tileTemplate.content.cloneNode(true));
      tile = /** @type {HTMLElement} */ (frag.firstElementChild);
      tile.dataset.userId = info.userId;
      if (info.local) {
        tile.dataset.local = 'true';
        const v = /** @type {HTMLVideoElement} */ (tile.querySelector('video'));
        v.muted = true; // never play our own microphone back
        tile.querySelector('.tile-hide')?.remove(); // our own video is not received
      } else {
        const hide = /** @type {HTMLButtonElement} */ (tile.querySelector('.tile-hide'));
        hide.hidden = false;
        const t = /** @type {HTMLElement} */ (tile);
        hide.addEventListener('click', () => this.#emit('toggle-tile-video', { userId: t.dataset.userId }));
      }
      const circle = /** @type {HTMLElement} */ (tile.querySelector('.avatar-circle'));
      circle.style.setProperty('--hue', String(hueOf(info.userId + info.username)));
      if (info.local) this.el.grid.prepend(tile);
      else this.el.grid.append(tile);
      this.tiles.set(info.userId, tile);
    }
    this.#renderTile(tile, info);
    this.#layout();
    return tile;
  }

  /**
   * @param {HTMLElement} tile
   * @param {TileInfo} info
   */
  #renderTile(tile, info) {
    tile.dataset.username = info.username;
    const label = info.local ? `${info.username} (You)` : info.username;
    /** @type {HTMLElement} */ (tile.querySelector('.tile-name')).textContent = label;
    /** @type {HTMLElement} */ (tile.querySelector('.avatar-circle')).textContent = initials(info.username);
    tile.setAttribute('aria-label', label);
    this.updateTile(info.userId, { audio: info.audio, video: info.video });
  }

  /**
   * Shows a participant's media state: muted indicator, camera-off avatar.
   * @param {string} userId
   * @param {{audio?: boolean, video?: boolean}} state
   */
  updateTile(userId, state) {
    const tile = this.tiles.get(userId);
    if (!tile) return;
    if (typeof state.audio === 'boolean') {
      tile.dataset.muted = String(!state.audio);
      /** @type {HTMLElement} */ (tile.querySelector('.tile-muted')).hidden = state.audio;
    }
    if (typeof state.video === 'boolean') {
      tile.dataset.videoState = state.video ? 'on' : 'off';
      /** @type {HTMLElement} */ (tile.querySelector('.tile-camoff')).hidden = state.video;
    }
    this.#renderVideoVisibility(tile);
  }

  /**
   * The avatar shows when the participant's camera is off or no video has arrived yet.
   * @param {HTMLElement} tile
   */
  #renderVideoVisibility(tile) {
    const video = /** @type {HTMLVideoElement} */ (tile.querySelector('video'));
    const stream = /** @type {MediaStream|null} */ (video.srcObject);
    const hasVideo = !!stream && stream.getVideoTracks().some((t) => t.readyState === 'live');
    const camOn = tile.dataset.videoState !== 'off';
    const hidden = tile.dataset.videoHidden === 'true';
    const paused = tile.dataset.videoPaused === 'true';
    tile.dataset.cameraOff = String(!camOn || !hasVideo || hidden || paused);
    const notice = /** @type {HTMLElement} */ (tile.querySelector('.tile-notice'));
    const text = !camOn ? '' : hidden ? 'Video hidden' : paused ? 'Video paused: connection too slow' : '';
    notice.textContent = text;
    notice.hidden = !text;
  }

  /**
   * A remote tile's video: hidden by this user (a button on the tile shows it again), or paused by
   * the server because the connection cannot carry it.
   * @param {string} userId
   * @param {{hidden?: boolean, paused?: boolean}} state
   */
  setTileVideo(userId, state) {
    const tile = this.tiles.get(userId);
    if (!tile) return;
    if (typeof state.hidden === 'boolean') {
      tile.dataset.videoHidden = String(state.hidden);
      const hide = /** @type {HTMLElement} */ (tile.querySelector('.tile-hide'));
      hide.textContent = state.hidden ? 'Show video' : 'Hide video';
    }
    if (typeof state.paused === 'boolean') tile.dataset.videoPaused = String(state.paused);
    this.#renderVideoVisibility(tile);
  }

  /**
   * How each remote tile's video is shown, for the server to send no more than that: its size in
   * device pixels, or hidden (hidden by the user, scrolled out of the grid, or the page not visible).
   * @returns {Array<{userId: string, width: number, height: number, hidden: boolean}>}
   */
  videoViews() {
    const out = [];
    const ratio = this.doc.defaultView?.devicePixelRatio || 1;
    const pageHidden = this.doc.visibilityState === 'hidden' || this.pages.meeting.hidden;
    const area = this.el.grid.getBoundingClientRect();
    for (const [userId, tile] of this.tiles) {
      if (tile.dataset.local === 'true') continue;
      const r = tile.getBoundingClientRect();
      const outside = r.bottom <= area.top || r.top >= area.bottom || r.right <= area.left || r.left >= area.right;
      const hidden = pageHidden || outside || tile.dataset.videoHidden === 'true' || r.width < 1 || r.height < 1;
      out.push({ userId, width: Math.round(r.width * ratio), height: Math.round(r.height * ratio), hidden });
    }
    return out;
  }

  /**
   * Attaches a MediaStream to a tile (the local stream, or a remote one from rtc.js).
   * @param {string} userId
   * @param {MediaStream|null} stream
   */
  setTileStream(userId, stream) {
    const tile = this.tiles.get(userId);
    if (!tile) return;
    attachStream(/** @type {HTMLVideoElement} */ (tile.querySelector('video')), stream);
    this.#renderVideoVisibility(tile);
  }

  /**
   * Changes the userId of a tile (our own tile after a rejoin gets a new id).
   * @param {string} oldId
   * @param {string} newId
   */
  renameTile(oldId, newId) {
    const tile = this.tiles.get(oldId);
    if (!tile || oldId === newId) return;
    this.tiles.delete(oldId);
    tile.dataset.userId = newId;
    this.tiles.set(newId, tile);
  }

  /** @param {string} userId */
  removeTile(userId) {
    const tile = this.tiles.get(userId);
    if (!tile) return;
    const video = /** @type {HTMLVideoElement} */ (tile.querySelector('video'));
    video.srcObject = null;
    tile.remove();
    this.tiles.delete(userId);
    this.#layout();
  }

  clearTiles() {
    for (const id of [...this.tiles.keys()]) this.removeTile(id);
  }

  /**
   * @param {string} userId
   * @param {boolean} speaking
   */
  setSpeaking(userId, speaking) {
    const tile = this.tiles.get(userId);
    if (tile) tile.dataset.speaking = String(speaking);
  }

  /** How many tiles the speaker view's strip has room for (about 12rem each). */
  stripCapacity() {
    return Math.max(1, Math.floor(this.el.grid.clientWidth / 192));
  }

  /**
   * Shows the tiles of a layout (layout.js): those in view.shown, in that order (the speaker view's
   * main tile large), the other participants' not at all (tiles the layout does not place are left alone); the active speaker highlighted; the page controls and
   * the layout button.
   * @param {import('./layout.js').LayoutView} view
   */
  renderLayout(view) {
    const e = this.el;
    this.view = view;
    e.grid.dataset.layout = view.mode;
    const order = new Map(view.shown.map((id, i) => [id, i]));
    const placed = new Set(view.ids);
    for (const [userId, tile] of this.tiles) {
      if (!placed.has(userId)) continue; // not a participant's tile (another feature's): left as it is
      const i = order.get(userId);
      tile.hidden = i === undefined;
      tile.style.order = String(i ?? 0);
      tile.dataset.main = String(userId === view.main);
      this.setSpeaking(userId, userId === view.active);
    }
    const paging = view.mode === 'grid' && view.pageCount > 1;
    e.pager.hidden = !paging;
    e.pageLabel.textContent = `Page ${view.page + 1} of ${view.pageCount}`;
    e.pagePrev.disabled = view.page === 0;
    e.pageNext.disabled = view.page >= view.pageCount - 1;
    const speaker = view.mode === 'speaker';
    e.layoutButton.dataset.mode = view.mode;
    e.layoutButton.setAttribute('aria-label', speaker ? 'Switch to grid view' : 'Switch to speaker view');
    e.layoutButton.title = e.layoutButton.getAttribute('aria-label') || '';
    this.#layout();
  }

  #layout() {
    const grid = this.el.grid;
    if (this.pages.meeting.hidden) return;
    const style = getComputedStyle(grid);
    const gap = parseFloat(style.columnGap) || 0;
    const shown = this.view ? this.view.shown.filter((id) => this.tiles.has(id)).length : this.tiles.size;
    for (const tile of this.tiles.values()) tile.style.gridColumnStart = '';
    if (this.view?.mode === 'speaker') {
      // the main tile over the whole width, a strip of equal tiles under it (at least 4 columns, so
      // that a short strip is not stretched; centred)
      const strip = Math.max(1, shown - 1);
      const cols = Math.max(4, strip);
      const first = this.tiles.get(this.view.shown[1] ?? '');
      if (first && strip < cols) first.style.gridColumnStart = String(Math.floor((cols - strip) / 2) + 1);
      const stripH = Math.max(72, Math.min(180, Math.floor(grid.clientHeight * 0.22)));
      grid.style.setProperty('--cols', String(cols));
      grid.style.setProperty('--strip-h', `${stripH}px`);
      grid.dataset.count = String(shown);
      this.#emit('layout');
      return;
    }
    const { cols, tileW, tileH } = gridGeometry(shown, grid.clientWidth, grid.clientHeight, gap);
    grid.style.setProperty('--cols', String(cols));
    grid.style.setProperty('--tile-w', `${tileW}px`);
    grid.style.setProperty('--tile-h', `${tileH}px`);
    grid.dataset.count = String(shown);
    this.#emit('layout');
  }

  /** @param {number} n */
  setParticipantCount(n) {
    const el = this.el.participantCount;
    el.textContent = String(n);
    el.setAttribute('aria-label', n === 1 ? '1 participant' : `${n} participants`);
  }

  /** @param {string} meetingId */
  setMeetingCode(meetingId) {
    this.el.meetingCode.textContent = meetingId;
  }

  /**
   * The mute and camera buttons (data-on="false" when muted / camera off).
   * @param {{hasAudio: boolean, audioOn: boolean, hasVideo: boolean, videoOn: boolean}} s
   */
  setControls(s) {
    setCtl(this.el.muteButton, s.hasAudio, s.audioOn, 'microphone');
    setCtl(this.el.cameraButton, s.hasVideo, s.videoOn, 'camera');
  }

  /**
   * The banner over the meeting: what the connection is doing (null: nothing to say), with a
   * "Try again" button instead of the spinner once the app stopped trying by itself.
   * @param {{text: string, retry: boolean}|null} status
   */
  setConnectionStatus(status) {
    const e = this.el;
    e.reconnecting.hidden = !status;
    if (!status) return;
    e.reconnectingText.textContent = status.text;
    e.reconnectingSpinner.hidden = status.retry;
    e.retryButton.hidden = !status.retry;
  }

  /**
   * Marks a participant's tile while its connection is being repaired (the server's user-reconnecting).
   * @param {string} userId @param {boolean} on
   */
  setTileReconnecting(userId, on) {
    const tile = this.tiles.get(userId);
    if (!tile) return;
    tile.dataset.reconnecting = String(on);
    /** @type {HTMLElement} */ (tile.querySelector('.tile-reconnecting')).hidden = !on;
  }

  // ---------- Meeting: chat ----------

  /** @param {number} max  in code points, like the server counts */
  setChatMax(max) {
    this.maxChatLength = max;
    this.#chatInputChanged();
  }

  /** @param {boolean} open */
  setChatOpen(open) {
    const e = this.el;
    this.chatOpen = open;
    e.chatPanel.hidden = !open;
    e.chatToggle.setAttribute('aria-expanded', String(open));
    if (open) {
      this.unread = 0;
      this.#renderUnread();
      this.#scrollChat();
      e.chatInput.focus();
    }
    this.#layout();
  }

  /**
   * Appends a chat message.
   * @param {{username: string, message: string, timestamp: number}} msg
   * @param {{own: boolean, countUnread: boolean}} opts
   */
  addChatMessage(msg, opts) {
    const list = this.el.chatList;
    const nearBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 48;
    const frag = /** @type {DocumentFragment} */ (this.chatTemplate.content.cloneNode(true));
    const item = /** @type {HTMLElement} */ (frag.firstElementChild);
    item.dataset.own = String(opts.own);
    /** @type {HTMLElement} */ (item.querySelector('.chat-sender')).textContent = opts.own ? 'You' : msg.username;
    const time = /** @type {HTMLTimeElement} */ (item.querySelector('.chat-time'));
    time.textContent = formatTime(msg.timestamp);
    const d = new Date(msg.timestamp);
    if (!Number.isNaN(d.getTime())) time.dateTime = d.toISOString();
    /** @type {HTMLElement} */ (item.querySelector('.chat-text')).textContent = msg.message;
    list.append(item);
    if (opts.own || nearBottom) this.#scrollChat();
    if (!this.chatOpen && opts.countUnread) {
      this.unread++;
      this.#renderUnread();
    }
  }

  /** Drops the oldest chat items beyond `max`. */
  trimChat(/** @type {number} */ max) {
    const list = this.el.chatList;
    while (list.childElementCount > max) list.firstElementChild?.remove();
  }

  clearChat() {
    this.el.chatList.replaceChildren();
    this.el.chatInput.value = '';
    this.#chatInputChanged();
    this.unread = 0;
    this.#renderUnread();
  }

  #scrollChat() {
    const list = this.el.chatList;
    list.scrollTop = list.scrollHeight;
  }

  #renderUnread() {
    const b = this.el.unreadBadge;
    b.hidden = this.unread === 0;
    b.textContent = this.unread > 99 ? '99+' : String(this.unread);
    this.el.chatToggle.setAttribute('aria-label',
      this.unread ? `Chat with everyone, ${this.unread} unread` : 'Chat with everyone');
  }

  #submitChat() {
    const input = this.el.chatInput;
    const text = input.value;
    if (text.trim() === '') return;
    if (codePointLength(text) > this.maxChatLength) {
      this.#chatInputChanged();
      return;
    }
    this.#emit('send-chat', { text });
  }

  /** Clears the chat input after a message was sent. */
  chatSent() {
    this.el.chatInput.value = '';
    this.#chatInputChanged();
  }

  #chatInputChanged() {
    const e = this.el;
    clampCodePoints(e.chatInput, this.maxChatLength);
    const n = codePointLength(e.chatInput.value);
    e.chatSend.disabled = e.chatInput.value.trim() === '' || n > this.maxChatLength;
    const near = n > this.maxChatLength * 0.9;
    e.chatCounter.hidden = !near;
    e.chatCounter.textContent = near ? `${n} / ${this.maxChatLength}` : '';
    e.chatCounter.dataset.over = String(n > this.maxChatLength);
    // Grow the box with its text, up to its CSS max-height.
    e.chatInput.style.height = 'auto';
    e.chatInput.style.height = `${e.chatInput.scrollHeight}px`;
  }

  // ---------- Toasts ----------

  /**
   * Shows a short message at the bottom of the screen.
   * @param {string} text
   * @param {{kind?: 'error'|'info', timeoutMs?: number, key?: string}} [opts]
   *   key: a toast with the same key replaces the previous one
   */
  toast(text, opts = {}) {
    const kind = opts.kind || 'info';
    const box = this.el.toasts;
    if (opts.key) {
      for (const old of box.querySelectorAll('.toast')) {
        if (/** @type {HTMLElement} */ (old).dataset.key === opts.key) old.remove();
      }
    }
    const t = this.doc.createElement('div');
    t.className = 'toast';
    t.dataset.kind = kind;
    t.dataset.testid = 'toast';
    if (opts.key) t.dataset.key = opts.key;
    t.setAttribute('role', kind === 'error' ? 'alert' : 'status');
    const span = this.doc.createElement('span');
    span.className = 'toast-text';
    span.textContent = text;
    const close = this.doc.createElement('button');
    close.type = 'button';
    close.className = 'toast-close';
    close.setAttribute('aria-label', 'Dismiss');
    const svg = this.doc.createElementNS('http://www.w3.org/2000/svg', 'svg');
    svg.setAttribute('class', 'icon');
    svg.setAttribute('aria-hidden', 'true');
    const use = this.doc.createElementNS('http://www.w3.org/2000/svg', 'use');
    use.setAttribute('href', '#i-close');
    svg.append(use);
    close.append(svg);
    close.addEventListener('click', () => t.remove());
    t.append(span, close);
    box.append(t);
    while (box.childElementCount > 4) box.firstElementChild?.remove();
    const timeout = opts.timeoutMs ?? (kind === 'error' ? 8000 : 4000);
    if (timeout > 0) setTimeout(() => t.remove(), timeout);
    return t;
  }

  /** Removes every toast of a kind (e.g. the meeting's "joined"/"left" notes when leaving it). */
  clearToasts(/** @type {'error'|'info'} */ kind) {
    for (const t of this.el.toasts.querySelectorAll('.toast')) {
      if (/** @type {HTMLElement} */ (t).dataset.kind === kind) t.remove();
    }
  }

  /** @param {string} key */
  dismissToast(key) {
    for (const t of this.el.toasts.querySelectorAll('.toast')) {
      if (/** @type {HTMLElement} */ (t).dataset.key === key) t.remove();
    }
  }

  // ---------- Clock ----------

  #startClock() {
    if (this.clockTimer) return;
    const tick = () => { this.el.clock.textContent = formatTime(Date.now()); };
    tick();
    this.clockTimer = setInterval(tick, 10000);
  }

  #stopClock() {
    if (this.clockTimer) clearInterval(this.clockTimer);
    this.clockTimer = null;
  }
}

/**
 * Cuts a field's text to `max` Unicode code points. (The maxlength attribute counts UTF-16 units,
 * which would refuse text with emoji that the server accepts.)
 * @param {HTMLInputElement|HTMLTextAreaElement} field
 * @param {number} max
 */
function clampCodePoints(field, max) {
  if (field.value.length <= max) return; // UTF-16 length ≥ code points: nothing to cut
  const points = Array.from(field.value);
  if (points.length > max) field.value = points.slice(0, max).join('');
}

/**
 * Plays a stream in a <video>. A stream without tracks is not attached: a media element that
 * waits for data holds back the page's load event, and an empty stream never delivers any.
 * @param {HTMLVideoElement} video
 * @param {MediaStream|null} stream
 */
function attachStream(video, stream) {
  const s = stream && stream.getTracks().length > 0 ? stream : null;
  if (video.srcObject !== s) video.srcObject = s;
  if (s) video.play().catch(() => {});
}

/**
 * A setup-page round toggle; data-on=false shows it red. The label says what a click does.
 * @param {HTMLButtonElement} btn
 * @param {boolean} available
 * @param {boolean} on
 * @param {string} noun
 */
function setToggle(btn, available, on, noun) {
  btn.disabled = !available;
  btn.dataset.on = String(available && on);
  btn.setAttribute('aria-label', !available ? `No ${noun}` : on ? `Turn off ${noun}` : `Turn on ${noun}`);
  btn.title = btn.getAttribute('aria-label') || '';
}

/**
 * A control-bar button; data-on=false (muted / camera off) shows it red.
 * @param {HTMLButtonElement} btn
 * @param {boolean} available
 * @param {boolean} on
 * @param {string} noun
 */
function setCtl(btn, available, on, noun) {
  btn.disabled = !available;
  btn.dataset.on = String(available && on);
  btn.setAttribute('aria-label', !available ? `No ${noun}` : on ? `Turn off ${noun}` : `Turn on ${noun}`);
  btn.title = btn.getAttribute('aria-label') || '';
}
