// share-view.js — renders screen sharing on the meeting page: the presentation area above the grid
// (the screen shown large, whose it is, the other presentations to switch to, "Stop presenting"
// while we share) and the share button. ShareView renders state only (share.js Presentations); what
// the user does goes back through its callbacks. ShareController ties them to the media session.

import { Presentations, ScreenShare } from './share.js';

/**
 * @typedef {{userId: string, name: string, stream: MediaStream, local: boolean}} ShownPresentation
 */

export class ShareView {
  /**
   * @param {Document} doc
   * @param {{onShare: () => void, onChoose: (userId: string) => void}} on
   */
  constructor(doc, on) {
    const $ = (/** @type {string} */ id) => /** @type {HTMLElement} */ (doc.getElementById(id));
    this.doc = doc;
    this.el = {
      area: $('presentation'),
      video: /** @type {HTMLVideoElement} */ ($('presentation-video')),
      name: $('presentation-name'),
      others: $('presentation-others'),
      stop: $('presentation-stop'),
      button: $('share-button'),
    };
    this.el.button.addEventListener('click', () => on.onShare());
    this.el.stop.addEventListener('click', () => on.onShare());
    this.el.others.addEventListener('click', (ev) => {
      const b = /** @type {HTMLElement} */ (ev.target).closest('button');
      if (b && b.dataset.userId) on.onChoose(b.dataset.userId);
    });
  }

  /**
   * The share button: shown where the browser can share; pressed while we share.
   * @param {{supported: boolean, sharing: boolean}} s
   */
  setButton(s) {
    const b = this.el.button;
    b.hidden = !s.supported;
    b.dataset.sharing = String(s.sharing);
    b.setAttribute('aria-pressed', String(s.sharing));
    const label = s.sharing ? 'Stop presenting' : 'Present your screen';
    b.setAttribute('aria-label', label);
    b.title = label;
    this.el.stop.hidden = !s.sharing; // on the presentation bar, whoever's presentation is shown
  }

  /**
   * @param {ShownPresentation|null} shown  the presentation shown large (null: none)
   * @param {Array<{userId: string, name: string}>} others  the other presentations
   */
  render(shown, others) {
    const e = this.el;
    e.area.hidden = !shown;
    if (!shown) {
      if (e.video.srcObject) e.video.srcObject = null;
      e.area.dataset.userId = '';
      e.others.replaceChildren();
      return;
    }
    if (e.video.srcObject !== shown.stream) {
      e.video.srcObject = shown.stream;
      e.video.play().catch(() => { /* autoplay: muted video plays; a later gesture retries */ });
    }
    e.area.dataset.userId = shown.userId;
    e.area.dataset.local = String(shown.local);
    e.name.textContent = shown.local ? 'You are presenting' : `${shown.name || 'Someone'} is presenting`;
    e.others.replaceChildren(...others.map((o) => {
      const b = this.doc.createElement('button');
      b.type = 'button';
      b.dataset.userId = o.userId;
      b.dataset.testid = 'presentation-other';
      b.textContent = o.name;
      b.title = `Show ${o.name}'s presentation`;
      return b;
    }));
  }
}

/**
 * Screen sharing on the meeting page: our share (share.js ScreenShare) published through the
 * current media session (rtc.js), the screens received from it (Presentations), rendered by
 * ShareView. app.js makes one, attach()es each media session and detach()es it when it ends.
 */
export class ShareController {
  /**
   * @param {Document} doc
   * @param {{nameOf: (userId: string) => string, selfId: () => string|null,
   *   toast: (text: string) => void}} app
   * @param {{share?: import('./share.js').ScreenShare}} [deps]  (tests: a ScreenShare with its own getDisplayMedia)
   */
  constructor(doc, app, deps = {}) {
    this.app = app;
    this.share = deps.share || new ScreenShare();
    this.presentations = new Presentations();
    /** @type {import('./rtc.js').SfuSession|null} */
    this.rtc = null;
    this.view = new ShareView(doc, {
      onShare: () => this.toggle(),
      onChoose: (userId) => {
        this.presentations.choose(userId);
        this.render();
      },
    });
    this.share.addEventListener('stopped', () => {
      if (this.rtc) this.rtc.unpublishScreen();
      this.presentations.remove(LOCAL_KEY_USER, LOCAL_KEY);
      this.render();
    });
    this.render();
  }

  /** @param {import('./rtc.js').SfuSession} rtc */
  attach(rtc) {
    this.detach();
    this.rtc = rtc;
    rtc.addEventListener('screenstream', (ev) => {
      const { userId, stream, mid } = /** @type {CustomEvent} */ (ev).detail;
      if (this.rtc !== rtc) return;
      this.presentations.add(userId, stream, mid);
      this.render();
    });
    rtc.addEventListener('screengone', (ev) => {
      const { userId, mid } = /** @type {CustomEvent} */ (ev).detail;
      if (this.rtc === rtc && this.presentations.remove(userId, mid)) this.render();
    });
  }

  /** The media session ended (left, rejoined): our share stops, the presentations go. */
  detach() {
    this.rtc = null;
    this.share.stop('left');
    this.presentations.clear();
    this.render();
  }

  /** That participant left: its presentation goes (its m-lines end too; this is sooner). */
  /** @param {string} userId */
  removeUser(userId) {
    if (this.presentations.remove(userId)) this.render();
  }

  /** The share button: start sharing, or stop. */
  async toggle() {
    if (this.share.active) {
      this.share.stop('button');
      return;
    }
    if (!this.rtc) return;
    let stream;
    try {
      stream = await this.share.start();
    } catch (err) {
      const name = /** @type {Error} */ (err).name;
      if (name !== 'NotAllowedError' && name !== 'AbortError') this.app.toast('Your screen could not be shared.');
      return;
    }
    if (!this.rtc) {
      this.share.stop('left');
      return;
    }
    const track = /** @type {MediaStreamTrack} */ (this.share.track);
    this.rtc.publishScreen(track);
    this.presentations.add(LOCAL_KEY_USER, stream, LOCAL_KEY, true);
    this.render();
  }

  render() {
    this.view.setButton({ supported: ScreenShare.supported(), sharing: this.share.active });
    const shown = this.presentations.shown();
    const nameOf = (/** @type {import('./share.js').Presentation} */ p) => (p.local ? 'You' : this.app.nameOf(p.userId));
    this.view.render(shown && { ...shown, userId: shown.local ? this.app.selfId() || '' : shown.userId, name: nameOf(shown) },
      this.presentations.others().map((p) => ({ userId: p.userId, name: nameOf(p) })));
  }
}

/** Our own presentation's place in Presentations (our userId changes on a rejoin; this does not). */
const LOCAL_KEY_USER = '\u0000self';
const LOCAL_KEY = 'local';
