// app.js — the orchestrator of the VideoMeet browser app.
//
// Owns: the page state machine (landing → setup → meeting), routing with the History API,
// and the glue between SignalingClient (signaling.js), MediaManager (media.js) and UI (ui.js).
// It holds the meeting state (participants, chat keys) and decides what the UI shows.
//
// Routes: `/` is the landing page; `/m/<id>` is the setup page of that meeting, and, once joined,
// the meeting page (same URL, so a reload lands on setup again). Leaving goes back to `/`.
//
// The media path is rtc.js (SfuSession): one publishing and one receiving peer connection with
// the SFU, opened when the meeting page is entered and closed when it is left. A dropped socket is
// resumed and a broken media connection repaired in place (PROTOCOL.md "Reconnecting"); the banner
// says what is happening (retry.js connectionStatus) and offers "Try again" once tries stop.

import {
  loadConfig, parseMeetingCode, meetingIdFromPath, isMeetingId, signalingUrl, meetingLink,
  codePointLength, DEFAULT_CONFIG, MAX_CHAT_ITEMS, NAME_STORAGE_KEY,
} from './config.js';
import { SignalingClient } from './signaling.js';
import { MediaManager, LevelMeter } from './media.js';
import { UI } from './ui.js';
import { SfuSession, warmUpIce } from './rtc.js';
import { ShareController } from './share-view.js';
import { connectionStatus } from './retry.js';
import { DataLink } from './datachannel.js';
import { Roster } from './participants.js';
import { PeopleUI } from './people-ui.js';
import { LayoutState, STRIP_MAX } from './layout.js';
import { errorText } from './errors.js';

/** @typedef {import('./signaling.js').Participant} Participant */
/** @typedef {import('./signaling.js').ChatMessage} ChatMessage */
/** @typedef {import('./signaling.js').ExistingUsers} ExistingUsers */
/** @typedef {import('./signaling.js').ServerError} ServerError */

/** How often, at most, the SFU is told how the received videos are shown. */
const VIEWS_MS = 250;

class App {
  constructor() {
    this.ui = new UI(document);
    this.media = new MediaManager();
    this.signaling = new SignalingClient();
    this.config = { ...DEFAULT_CONFIG };
    /** @type {'landing'|'setup'|'meeting'} */
    this.page = 'landing';
    /** @type {string|null} */
    this.meetingId = null;
    /** @type {string|null} our userId while in a meeting */
    this.userId = null;
    this.username = '';
    /** @type {Map<string, Participant>} the others */
    this.participants = new Map();
    /** The participants panel's state (with raised hands), and its view. */
    this.roster = new Roster();
    this.peopleUi = new PeopleUI(document);
    /** Our hand is raised. */
    this.handUp = false;
    /** @type {DataLink|null} reactions and hands over the data channel (datachannel.js) */
    this.dataLink = null;
    /** @type {Set<string>} chat messages shown, so a rejoin's history adds only the new ones */
    this.chatKeys = new Set();
    this.joining = false;
    /** The last node-info named other ICE servers than the media connections being prepared use. */
    this.iceChanged = false;
    this.leaving = false;
    this.mediaStarted = false;
    /** @type {Promise<void>|null} */
    this.mediaStarting = null;
    /** @type {Promise<void>|null} the signaling socket opening early, on the setup page */
    this.connecting = null;
    /** @type {Promise<void>|null} ICE gathered once on the setup page (rtc.js warmUpIce) */
    this.iceWarm = null;
    /** @type {LevelMeter|null} */
    this.meter = null;
    /** @type {number} */
    this.meterFrame = 0;
    /** Bumped on every page change so stale async work can notice. */
    this.generation = 0;
    /** @type {SfuSession|null} the media connections while in a meeting */
    this.rtc = null;
    /** @type {Set<string>} participants whose video this user hid */
    this.hiddenVideos = new Set();
    /** @type {ReturnType<typeof setTimeout>|null} a video-views update on its way (#viewsChanged) */
    this.viewsTimer = null;
    /** which tiles are on screen: grid pages or speaker view, and who speaks (layout.js) */
    this.layout = new LayoutState();
    /** @type {import('./retry.js').ConnectionState} what the banner shows */
    this.conn = { socket: null, media: {} };
    /** screen sharing: our share and the presentations received (share-view.js) */
    this.sharing = new ShareController(document, {
      nameOf: (userId) => this.participants.get(userId)?.username || '',
      selfId: () => this.userId,
      toast: (text) => this.ui.toast(text, { kind: 'error', key: 'share' }),
    });
  }

  async start() {
    this.#bindUi();
    this.#bindSignaling();
    this.#bindPeople();
    this.#bindMedia();
    window.addEventListener('popstate', () => this.#route(location.pathname));
    window.addEventListener('pagehide', () => {
      if (this.signaling.joined) this.signaling.close();
    });
    // Browsers start AudioContexts suspended until the person interacts with the page.
    const resume = () => this.meter?.resume();
    document.addEventListener('pointerdown', resume, true);
    document.addEventListener('keydown', resume, true);
    navigator.mediaDevices?.addEventListener?.('devicechange', () => {
      if (this.page === 'setup') this.#refreshDevices();
    });

    const cfg = loadConfig().then((c) => {
      this.config = c;
      this.ui.setChatMax(c.maxChatLength);
      this.ui.setNameMax(c.maxNameLength);
    });
    this.ui.setChatMax(this.config.maxChatLength);
    this.ui.setNameMax(this.config.maxNameLength);
    this.#route(location.pathname);
    await cfg;
  }

  // ---------- Routing ----------

  /** @param {string} pathname */
  #route(pathname) {
    const { isMeetingPath, meetingId } = meetingIdFromPath(pathname);
    if (this.page === 'meeting') {
      if (meetingId === this.meetingId) return;
      // Back button out of a meeting: leave it.
      this.#leave({ navigate: false });
    }
    if (meetingId) {
      if (pathname !== `/m/${meetingId}`) history.replaceState(null, '', `/m/${meetingId}`);
      this.#enterSetup(meetingId);
      return;
    }
    if (isMeetingPath) {
      history.replaceState(null, '', '/');
      this.#enterLanding();
      this.ui.toast('That meeting link is not valid. Check the code and try again.', { kind: 'error' });
      return;
    }
    if (pathname !== '/') history.replaceState(null, '', '/');
    this.#enterLanding();
  }

  /** @param {string} path */
  #navigate(path) {
    if (location.pathname !== path) history.pushState(null, '', path);
  }

  // ---------- Landing ----------

  #enterLanding() {
    this.generation++;
    this.page = 'landing';
    this.meetingId = null;
    this.#stopMeter();
    this.#stopMedia();
    if (!this.signaling.joined) this.signaling.close(); // opened early on the setup page
    this.ui.setTitle('');
    this.ui.showPage('landing');
  }

  async #newMeeting() {
    this.ui.setNewMeetingBusy(true);
    try {
      const res = await fetch('/api/create-meeting', { cache: 'no-store' });
      if (res.status === 429) {
        const body = await res.json().catch(() => ({}));
        this.ui.toast(errorText({ type: 'error', code: 'rate-limited', message: '', reason: 'meetings',
          retryAfter: Number(body.retryAfter) || 0 }), { kind: 'error' });
        return;
      }
      if (!res.ok) throw new Error(`HTTP ${res.status}`);
      const body = await res.json();
      const id = typeof body.meetingId === 'string' ? body.meetingId.toLowerCase() : '';
      if (!isMeetingId(id)) throw new Error('bad meeting id from server');
      this.#navigate(`/m/${id}`);
      this.#enterSetup(id);
    } catch {
      this.ui.toast('Could not start a meeting. Check your connection and try again.', { kind: 'error' });
    } finally {
      this.ui.setNewMeetingBusy(false);
    }
  }

  /** @param {string} text */
  #joinCode(text) {
    const id = parseMeetingCode(text);
    if (!id) {
      this.ui.showCodeError(text.trim() === ''
        ? 'Enter a meeting code or link.'
        : 'That is not a valid meeting code. A code has 8 letters and digits, like abcd2345.');
      return;
    }
    this.ui.showCodeError(null);
    this.#navigate(`/m/${id}`);
    this.#enterSetup(id);
  }

  // ---------- Setup ----------

  /** @param {string} meetingId */
  #enterSetup(meetingId) {
    this.generation++;
    this.page = 'setup';
    this.meetingId = meetingId;
    this.ui.setTitle(meetingId);
    this.ui.setSetupMeeting(meetingId);
    this.ui.setName(this.username || readStoredName());
    this.ui.setJoinBusy(false);
    this.ui.showPage('setup');
    this.ui.focusName();
    this.ui.setPreviewStream(this.media.stream);
    this.#renderPreview();
    this.#ensureMedia().then(() => {
      if (this.page !== 'setup') return;
      this.#renderPreview();
      this.#startMeter();
    });
    this.#preconnect();
    if (!this.iceWarm) this.iceWarm = warmUpIce();
  }

  /** Opens the signaling socket while the person is on the setup page, so "Join now" only has to
   * send the join. A failure here is not shown: joining connects again and says what went wrong. */
  #preconnect() {
    if (this.signaling.connected || this.connecting) return;
    this.connecting = this.signaling.connect(signalingUrl(location)).catch(() => {}).finally(() => {
      this.connecting = null;
    });
  }

  /** Starts the camera and microphone once per visit of the setup page. */
  #ensureMedia() {
    if (this.mediaStarted) return Promise.resolve();
    if (!this.mediaStarting) {
      this.ui.setMediaStatus('Starting camera and microphone…', 'info');
      this.mediaStarting = this.media.start().then(async () => {
        this.mediaStarted = true;
        this.mediaStarting = null;
        await this.#refreshDevices();
        this.#renderMediaStatus();
        this.ui.setPreviewStream(this.media.stream);
      });
    }
    return this.mediaStarting;
  }

  #stopMedia() {
    if (this.mediaStarting) {
      // Stop it once it has started, unless a page wants it again by then.
      const gen = this.generation;
      this.mediaStarting.then(() => {
        if (this.generation === gen) this.#stopMedia();
      });
      return;
    }
    if (!this.mediaStarted) return;
    this.media.stop();
    this.mediaStarted = false;
    this.ui.setPreviewStream(null);
  }

  async #refreshDevices() {
    const { cameras, mics } = await this.media.listDevices();
    this.ui.setDevices('camera', cameras, this.media.currentDeviceId('video'));
    this.ui.setDevices('mic', mics, this.media.currentDeviceId('audio'));
  }

  #renderMediaStatus() {
    const { camera, mic } = this.media.status;
    /** @type {string|null} */
    let text = null;
    if (!MediaManager.supported) {
      text = 'This browser cannot use a camera or microphone here (the page needs HTTPS). You can still join and chat.';
    } else if (camera === 'denied' && mic === 'denied') {
      text = 'Camera and microphone access is blocked. Allow it in the browser\'s site settings and reload, or join without them.';
    } else if (camera === 'missing' && mic === 'missing') {
      text = 'No camera or microphone found. You can still join and chat.';
    } else {
      const parts = [];
      if (camera === 'denied') parts.push('Camera access is blocked.');
      if (camera === 'missing') parts.push('No camera found.');
      if (camera === 'busy') parts.push('The camera is in use by another program.');
      if (camera === 'error') parts.push('The camera could not be started.');
      if (mic === 'denied') parts.push('Microphone access is blocked.');
      if (mic === 'missing') parts.push('No microphone found.');
      if (mic === 'busy') parts.push('The microphone is in use by another program.');
      if (mic === 'error') parts.push('The microphone could not be started.');
      if (parts.length) text = `${parts.join(' ')} You can still join.`;
    }
    this.ui.setMediaStatus(text, 'error');
  }

  #renderPreview() {
    const m = this.media;
    const hasVideo = !!m.videoTrack;
    const hasAudio = !!m.audioTrack;
    let offText = 'Camera is off';
    if (!hasVideo) offText = this.mediaStarting ? 'Starting camera…' : 'No camera';
    this.ui.setPreviewState({ hasVideo, videoOn: m.videoEnabled, hasAudio, audioOn: m.audioEnabled, offText });
  }

  #startMeter() {
    this.#stopMeter();
    const track = this.media.audioTrack;
    if (!track) {
      this.ui.setMicLevel(0);
      return;
    }
    try {
      this.meter = new LevelMeter(track);
    } catch {
      return; // no WebAudio: no meter
    }
    this.meter.resume();
    const tick = () => {
      if (!this.meter) return;
      const on = this.media.audioEnabled;
      this.ui.setMicLevel(on ? this.meter.level() : 0);
      this.meterFrame = requestAnimationFrame(tick);
    };
    this.meterFrame = requestAnimationFrame(tick);
  }

  #stopMeter() {
    if (this.meterFrame) cancelAnimationFrame(this.meterFrame);
    this.meterFrame = 0;
    if (this.meter) this.meter.close();
    this.meter = null;
  }

  /** @param {string} name */
  async #joinNow(name) {
    if (this.joining || !this.meetingId) return;
    const username = name.trim();
    if (username === '') {
      this.ui.showNameError('Enter your name so others know who you are.');
      return;
    }
    if (codePointLength(username) > this.config.maxNameLength) {
      this.ui.showNameError(`Use at most ${this.config.maxNameLength} characters.`);
      return;
    }
    storeName(username);
    this.username = username;
    this.joining = true;
    this.ui.setJoinBusy(true);
    const gen = this.generation;
    try {
      if (this.mediaStarting) await this.mediaStarting;
      // The publishing connection and its offer are prepared during the join round trip; they
      // go out once the server has let us in (#enterMeeting).
      this.#startRtc({ held: true });
      if (this.connecting) await this.connecting;
      if (!this.signaling.connected) await this.signaling.connect(signalingUrl(location));
      const answer = await this.signaling.join(this.meetingId, username, this.media.mediaFlags);
      if (gen !== this.generation) return; // the person went elsewhere meanwhile
      this.#enterMeeting(answer);
    } catch (err) {
      this.#stopRtc();
      this.signaling.close();
      if (gen !== this.generation) return;
      const serverErr = /** @type {ServerError} */ (err);
      if (serverErr && typeof serverErr.code === 'string') {
        this.ui.toast(errorText(serverErr), { kind: 'error', key: 'join' });
      } else {
        this.ui.toast('Could not connect to the server. Check your connection and try again.',
          { kind: 'error', key: 'join' });
      }
    } finally {
      this.joining = false;
      if (this.page === 'setup') this.ui.setJoinBusy(false);
    }
  }

  // ---------- Meeting ----------

  /** @param {ExistingUsers} answer */
  #enterMeeting(answer) {
    // prepared while joining: send it first, unless the node that let us in has other ICE servers
    if (this.rtc && this.rtc.held && this.iceChanged) this.#stopRtc();
    if (this.rtc && this.rtc.held) this.rtc.release();
    this.iceChanged = false;
    this.generation++;
    this.page = 'meeting';
    this.#stopMeter();
    this.userId = answer.userId;
    this.participants.clear();
    this.roster.clear();
    this.handUp = false;
    this.peopleUi.setHandButton(false);
    this.hiddenVideos.clear();
    this.chatKeys.clear();
    this.ui.clearTiles();
    this.ui.clearChat();
    this.ui.setChatOpen(false);
    this.#setConn({ socket: null, media: {} });
    this.ui.dismissToast('join');
    this.ui.setMeetingCode(answer.meetingId || /** @type {string} */ (this.meetingId));
    this.ui.showPage('meeting');
    this.layout.clear();
    this.layout.setSelf(answer.userId);
    const flags = this.media.mediaFlags;
    this.ui.addTile({ userId: answer.userId, username: this.username, local: true, ...flags });
    this.ui.setTileStream(answer.userId, this.media.stream);
    for (const p of answer.users) this.#addParticipant(p);
    for (const c of answer.chatHistory) this.#addChat(c, false);
    this.#renderControls();
    this.#renderCount();
    this.#renderLayout();
    if (!this.rtc) this.#startRtc();
  }

  /** Shows the tiles the layout puts on screen (the others get no video: #viewsChanged). */
  #renderLayout() {
    if (this.page !== 'meeting') return;
    this.layout.setStripSize(this.ui.stripCapacity());
    this.ui.renderLayout(this.layout.view());
  }

  /**
   * Opens the media connections with the SFU and publishes our camera and microphone.
   * @param {{held?: boolean}} [opts]  held: prepare, and send nothing until rtc.release()
   */
  #startRtc(opts = {}) {
    this.#stopRtc();
    const rtc = new SfuSession((msg) => this.signaling.send(msg), this.config.iceServers || [], opts);
    this.rtc = rtc;
    this.sharing.attach(rtc);
    rtc.addEventListener('remotestream', (ev) => {
      const { userId, stream } = /** @type {CustomEvent} */ (ev).detail;
      if (this.rtc !== rtc) return;
      this.ui.setTileStream(userId, stream);
      this.#viewsChanged();
    });
    rtc.addEventListener('datachannel', (ev) => {
      if (this.rtc === rtc) this.#setDataLink(new DataLink(/** @type {CustomEvent} */ (ev).detail.channel));
    });
    rtc.addEventListener('videopaused', (ev) => {
      const { userId, paused } = /** @type {CustomEvent} */ (ev).detail;
      if (this.rtc === rtc) this.ui.setTileVideo(userId, { paused });
    });
    // A broken media connection is repaired in place (ICE restart); the banner says so.
    rtc.addEventListener('repairing', (ev) => {
      const { pc, attempt } = /** @type {CustomEvent} */ (ev).detail;
      if (this.rtc === rtc) this.#setConn({ ...this.conn, media: { ...this.conn.media, [pc]: { attempt } } });
    });
    rtc.addEventListener('gaveup', (ev) => {
      const { pc } = /** @type {CustomEvent} */ (ev).detail;
      if (this.rtc === rtc) this.#setConn({ ...this.conn, media: { ...this.conn.media, [pc]: 'gave-up' } });
    });
    rtc.addEventListener('repaired', (ev) => {
      const { pc } = /** @type {CustomEvent} */ (ev).detail;
      if (this.rtc !== rtc) return;
      const media = { ...this.conn.media };
      delete media[pc];
      this.#setConn({ ...this.conn, media });
    });
    rtc.publish(this.media.stream).catch((err) => {
      if (this.rtc !== rtc) return; // given up meanwhile (a join that failed, a leave)
      console.warn('publish failed', err);
      this.ui.toast('Your camera and microphone could not be sent.', { kind: 'error', key: 'rtc' });
    });
  }

  /** The tiles moved, resized or changed visibility: tell the SFU (at most every VIEWS_MS). */
  #viewsChanged() {
    if (this.viewsTimer) return;
    this.viewsTimer = setTimeout(() => {
      this.viewsTimer = null;
      if (this.page === 'meeting' && this.rtc) this.rtc.setViews(this.ui.videoViews());
    }, VIEWS_MS);
  }

  /** Hides or shows a participant's video on this screen (the SFU stops sending a hidden one). */
  /** @param {string} userId */
  #toggleTileVideo(userId) {
    const hidden = !this.hiddenVideos.has(userId);
    if (hidden) this.hiddenVideos.add(userId);
    else this.hiddenVideos.delete(userId);
    this.ui.setTileVideo(userId, { hidden });
    this.#viewsChanged();
  }

  #stopRtc() {
    this.sharing.detach();
    if (this.rtc) this.rtc.close();
    this.rtc = null;
  }

  /** @param {import('./retry.js').ConnectionState} conn */
  #setConn(conn) {
    this.conn = conn;
    this.ui.setConnectionStatus(this.page === 'meeting' ? connectionStatus(conn) : null);
  }

  /** "Try again" on the banner: the socket first, else the media connections. */
  #retry() {
    if (this.page !== 'meeting') return;
    if (this.conn.socket === 'gave-up') {
      this.signaling.retryNow();
    } else if (this.rtc) {
      this.#setConn({ ...this.conn, media: {} });
      this.rtc.retryNow();
    }
  }

  /**
   * A resume after a dropped socket: the same participant, the same media connections; bring the
   * participant list and chat up to date (the answer lists them as they are now).
   * @param {ExistingUsers} answer
   */
  #resumed(answer) {
    const present = new Set(answer.users.map((p) => p.userId));
    for (const id of [...this.participants.keys()]) {
      if (!present.has(id)) this.#removeParticipant(id);
    }
    for (const p of answer.users) this.#addParticipant(p);
    for (const c of answer.chatHistory) this.#addChat(c, true);
    this.#setConn({ ...this.conn, socket: null });
    this.#renderCount();
  }

  /** A rejoin after a reconnect: bring the participant list and chat up to date. */
  /** @param {ExistingUsers} answer */
  #rejoined(answer) {
    const oldId = this.userId;
    this.userId = answer.userId;
    if (oldId) this.ui.renameTile(oldId, answer.userId);
    this.layout.setSelf(answer.userId);
    if (oldId && oldId !== answer.userId) this.layout.remove(oldId);
    const present = new Set(answer.users.map((p) => p.userId));
    for (const id of [...this.participants.keys()]) {
      if (!present.has(id)) this.#removeParticipant(id);
    }
    for (const p of answer.users) this.#addParticipant(p);
    for (const c of answer.chatHistory) this.#addChat(c, true);
    this.#setConn({ socket: null, media: {} });
    this.ui.toast('Reconnected', { key: 'conn' });
    this.#renderCount();
    this.#startRtc(); // the server saw a new participant: new connections
  }

  /** @param {Participant} p */
  #addParticipant(p) {
    if (!p || typeof p.userId !== 'string' || p.userId === this.userId) return;
    const participant = {
      userId: p.userId,
      username: typeof p.username === 'string' ? p.username : '',
      audio: p.audio !== false,
      video: p.video !== false,
      joinedAt: p.joinedAt,
    };
    this.participants.set(p.userId, participant);
    this.ui.addTile(participant);
    this.layout.add(p.userId);
    this.#renderLayout();
    this.ui.setTileReconnecting(p.userId, p.reconnecting === true);
    const stream = this.rtc?.streamOf(p.userId);
    if (stream) this.ui.setTileStream(p.userId, stream);
    this.#renderCount();
  }

  /** @param {string} userId */
  #removeParticipant(userId) {
    this.participants.delete(userId);
    this.hiddenVideos.delete(userId);
    this.sharing.removeUser(userId);
    this.ui.removeTile(userId);
    this.layout.remove(userId);
    this.#renderLayout();
    this.#renderCount();
  }

  /**
   * @param {ChatMessage} c
   * @param {boolean} countUnread
   */
  #addChat(c, countUnread) {
    if (!c || typeof c.message !== 'string') return;
    const key = `${c.id}|${c.timestamp}|${c.userId}`;
    if (this.chatKeys.has(key)) return;
    this.chatKeys.add(key);
    const own = c.userId === this.userId;
    this.ui.addChatMessage(
      { username: String(c.username ?? ''), message: c.message, timestamp: c.timestamp },
      { own, countUnread: countUnread && !own },
    );
    this.ui.trimChat(MAX_CHAT_ITEMS);
  }

  #renderCount() {
    this.ui.setParticipantCount(this.participants.size + 1);
    this.#renderPeople();
  }

  // ---------- People panel, reactions and hands (participants.js, datachannel.js) ----------

  #bindPeople() {
    const pu = this.peopleUi;
    pu.addEventListener('react', (ev) => {
      const { emoji } = /** @type {CustomEvent} */ (ev).detail;
      if (this.page !== 'meeting' || !this.dataLink || !this.userId) return;
      this.dataLink.react(emoji);
      pu.showReaction(this.userId, emoji);
    });
    pu.addEventListener('hand', () => {
      if (this.page !== 'meeting' || !this.userId) return;
      this.handUp = !this.handUp;
      this.dataLink?.hand(this.handUp);
      pu.setHandButton(this.handUp);
      this.#renderPeople();
    });
    pu.addEventListener('search', () => this.#renderPeople());
  }

  /** @param {DataLink} link */
  #setDataLink(link) {
    this.dataLink = link;
    link.addEventListener('open', () => {
      if (this.handUp) link.hand(true); // a new connection: the others learn our hand again
    });
    link.addEventListener('hello', () => {
      if (this.handUp) link.hand(true); // a newcomer's channel opened: it learns our raised hand
    });
    link.addEventListener('reaction', (ev) => {
      const { userId, emoji } = /** @type {CustomEvent} */ (ev).detail;
      if (this.page === 'meeting' && this.participants.has(userId)) this.peopleUi.showReaction(userId, emoji);
    });
    link.addEventListener('hand', (ev) => {
      const { userId, up } = /** @type {CustomEvent} */ (ev).detail;
      if (this.page === 'meeting' && this.roster.setHand(userId, up)) this.#renderPeople();
    });
  }

  /** The roster follows the participants (and us); hands stay with their people. */
  #renderPeople() {
    const r = this.roster;
    for (const id of [...r.people.keys()]) {
      if (id !== this.userId && !this.participants.has(id)) r.remove(id);
    }
    for (const p of this.participants.values()) r.upsert(p);
    if (this.userId) {
      r.upsert({ userId: this.userId, username: this.username, ...this.media.mediaFlags }, true);
      r.setHand(this.userId, this.handUp);
    }
    this.peopleUi.render(r);
  }

  #renderControls() {
    const m = this.media;
    this.ui.setControls({
      hasAudio: !!m.audioTrack, audioOn: m.audioEnabled, hasVideo: !!m.videoTrack, videoOn: m.videoEnabled,
    });
    if (this.userId) this.ui.updateTile(this.userId, m.mediaFlags);
    this.#renderPeople();
  }

  /** @param {'audio'|'video'} kind */
  #toggle(kind) {
    if (kind === 'audio') this.media.setAudioEnabled(!this.media.audioEnabled);
    else this.media.setVideoEnabled(!this.media.videoEnabled);
    if (this.page === 'meeting') {
      this.signaling.sendMediaState(this.media.mediaFlags);
      this.#renderControls();
    } else {
      this.#renderPreview();
    }
  }

  /** @param {string} text */
  #sendChat(text) {
    if (this.page !== 'meeting') return;
    if (!this.signaling.joined || !this.signaling.sendChat(text)) {
      this.ui.toast('Not connected: the message was not sent.', { kind: 'error', key: 'chat' });
      return;
    }
    this.ui.chatSent();
  }

  async #copyLink() {
    if (!this.meetingId) return;
    const link = meetingLink(location, this.meetingId);
    let ok = false;
    try {
      if (navigator.clipboard && window.isSecureContext) {
        await navigator.clipboard.writeText(link);
        ok = true;
      }
    } catch {
      ok = false;
    }
    if (!ok) ok = copyWithTextarea(link);
    if (ok) this.ui.toast('Link copied', { key: 'copy' });
    else this.ui.toast(`Copy this link: ${link}`, { key: 'copy', timeoutMs: 15000 });
  }

  /** @param {{navigate: boolean}} opts */
  async #leave(opts) {
    if (this.leaving) return;
    this.leaving = true;
    this.generation++;
    const leaving = this.signaling.leave();
    this.#stopRtc();
    this.participants.clear();
    this.layout.clear();
    this.userId = null;
    this.ui.clearTiles();
    this.ui.clearChat();
    this.ui.setChatOpen(false);
    this.#setConn({ socket: null, media: {} });
    this.ui.clearToasts('info');
    if (opts.navigate) this.#navigate('/');
    this.#enterLanding();
    await leaving;
    this.leaving = false;
  }

  // ---------- Wiring ----------

  #bindUi() {
    const ui = this.ui;
    /** @param {string} type @param {(d: any) => void} fn */
    const on = (type, fn) => ui.addEventListener(type, (ev) => fn(/** @type {CustomEvent} */ (ev).detail));
    on('new-meeting', () => this.#newMeeting());
    on('join-code', (d) => this.#joinCode(d.text));
    on('home', () => {
      if (this.page === 'meeting') this.#leave({ navigate: true });
      else if (this.page !== 'landing') {
        this.#navigate('/');
        this.#enterLanding();
      }
    });
    on('setup-back', () => {
      this.signaling.close();
      this.#navigate('/');
      this.#enterLanding();
    });
    on('camera-change', async (d) => {
      await this.media.switchCamera(d.deviceId);
      this.#renderPreview();
      this.#renderMediaStatus();
    });
    on('mic-change', async (d) => {
      await this.media.switchMic(d.deviceId);
      this.#renderPreview();
      this.#renderMediaStatus();
      if (this.page === 'setup') this.#startMeter();
    });
    on('setup-toggle-mic', () => this.#toggle('audio'));
    on('setup-toggle-cam', () => this.#toggle('video'));
    on('join-now', (d) => this.#joinNow(d.name));
    on('toggle-mic', () => this.#toggle('audio'));
    on('toggle-cam', () => this.#toggle('video'));
    on('copy-link', () => this.#copyLink());
    on('leave', () => this.#leave({ navigate: true }));
    on('send-chat', (d) => this.#sendChat(d.text));
    on('toggle-tile-video', (d) => this.#toggleTileVideo(d.userId));
    on('layout', () => {
      // the speaker view's strip holds as many tiles as its width has room for
      const room = Math.min(STRIP_MAX, this.ui.stripCapacity());
      if (this.layout.mode === 'speaker' && room !== this.layout.stripSize) this.#renderLayout();
      this.#viewsChanged();
    });
    on('layout-mode', (d) => {
      this.layout.setMode(d.mode);
      this.#renderLayout();
    });
    on('page', (d) => {
      this.layout.setPage(d.page);
      this.#renderLayout();
    });
    on('retry', () => this.#retry());
  }

  #bindSignaling() {
    const s = this.signaling;
    /** @param {string} type @param {(d: any) => void} fn */
    const on = (type, fn) => s.addEventListener(type, (ev) => fn(/** @type {CustomEvent} */ (ev).detail));
    on('existing-users', (/** @type {ExistingUsers} */ d) => {
      if (!d.rejoin || this.page !== 'meeting') return;
      if (d.resumed) this.#resumed(d);
      else this.#rejoined(d);
    });
    // Several nodes: the node that lets us in says which ICE servers (TURN credentials) to use with
    // it, and the page may have been served by another node (PROTOCOL.md, `node-info`).
    on('node-info', (d) => {
      if (!Array.isArray(d.iceServers)) return;
      const urls = (/** @type {RTCIceServer[]} */ list) => JSON.stringify(list.map((x) => x && x.urls));
      if (urls(d.iceServers) !== urls(this.config.iceServers || [])) this.iceChanged = true;
      this.config = { ...this.config, iceServers: d.iceServers };
    });
    on('user-reconnecting', (d) => {
      if (this.page === 'meeting' && this.participants.has(d.userId)) {
        this.ui.setTileReconnecting(d.userId, d.reconnecting === true);
      }
    });
    on('user-joined', (d) => {
      if (this.page !== 'meeting' || !d.user) return;
      const isNew = !this.participants.has(d.user.userId);
      this.#addParticipant(d.user);
      if (isNew) this.ui.toast(`${d.user.username} joined`, { timeoutMs: 3000 });
    });
    on('user-left', (d) => {
      if (this.page !== 'meeting') return;
      const p = this.participants.get(d.userId);
      if (!p) return;
      this.#removeParticipant(d.userId);
      this.ui.toast(`${p.username} left`, { timeoutMs: 3000 });
    });
    on('media-state', (d) => {
      const p = this.participants.get(d.userId);
      if (this.page !== 'meeting' || !p) return;
      if (typeof d.audio === 'boolean') p.audio = d.audio;
      if (typeof d.video === 'boolean') p.video = d.video;
      this.ui.updateTile(d.userId, { audio: p.audio, video: p.video });
      this.#renderPeople();
    });
    on('receive-message', (d) => {
      if (this.page === 'meeting') this.#addChat(d, true);
    });
    on('active-speakers', (d) => {
      if (this.page !== 'meeting') return;
      this.layout.setSpeakers(d.speakers);
      this.#renderLayout();
    });
    for (const type of ['offer', 'answer', 'ice-candidate', 'video-layers', 'video-paused']) {
      on(type, (d) => {
        if (this.page === 'meeting' && this.rtc) this.rtc.handle(d);
      });
    }
    on('error', (/** @type {ServerError} */ d) => this.#serverError(d));
    on('rejoin-failed', (/** @type {ServerError} */ d) => this.#rejoinFailed(d));
    // The socket dropped: it is resumed (the media connections go on meanwhile, when they can).
    on('reconnecting', (d) => {
      if (this.page === 'meeting') this.#setConn({ ...this.conn, socket: { attempt: d.attempt } });
    });
    // Our server is being drained: signaling.js rejoins on the node it names by itself.
    on('moved', (d) => {
      if (this.page === 'meeting' && d.midMeeting) this.ui.toast('Moving to another server…', { key: 'conn' });
    });
    on('gave-up', () => {
      if (this.page === 'meeting') this.#setConn({ ...this.conn, socket: 'gave-up' });
    });
  }

  /** @param {ServerError} err */
  #serverError(err) {
    if (this.joining) return; // #joinNow shows it
    if (this.page === 'meeting' && (err.code === 'server-busy' || err.code === 'internal') && !this.signaling.joined) {
      this.#backToSetup(errorText(err)); // the server took us out (no port for our media, or it failed it)
      return;
    }
    this.ui.toast(errorText(err), { kind: 'error', key: err.code });
  }

  /**
   * An automatic rejoin was refused (e.g. the meeting filled up meanwhile): back to setup.
   * @param {ServerError} err
   */
  #rejoinFailed(err) {
    this.#backToSetup(`Could not rejoin the meeting: ${errorText(err)}`);
  }

  /**
   * Out of the meeting against the person's will: back to its setup page, saying why.
   * @param {string} text
   */
  #backToSetup(text) {
    if (this.page === 'meeting') {
      this.signaling.close();
      this.#stopRtc();
      const id = /** @type {string} */ (this.meetingId);
      this.participants.clear();
      this.layout.clear();
      this.userId = null;
      this.ui.clearTiles();
      this.ui.clearChat();
      this.ui.setChatOpen(false);
      this.#setConn({ socket: null, media: {} });
      this.#enterSetup(id);
      this.ui.toast(text, { kind: 'error', key: 'join' });
    }
  }

  #bindMedia() {
    this.media.addEventListener('trackchange', () => {
      if (this.rtc) this.rtc.publish(this.media.stream).catch((err) => console.warn('republish failed', err));
      if (this.page === 'setup') {
        this.ui.setPreviewStream(null);
        this.ui.setPreviewStream(this.media.stream);
        this.#renderPreview();
      } else if (this.page === 'meeting' && this.userId) {
        this.ui.setTileStream(this.userId, null);
        this.ui.setTileStream(this.userId, this.media.stream);
        this.#renderControls();
        // A device that went away (unplugged, revoked) turns our state off for the others too.
        this.signaling.sendMediaState(this.media.mediaFlags);
      }
    });
    this.media.addEventListener('statuschange', () => {
      if (this.page === 'setup' && !this.mediaStarting) this.#renderMediaStatus();
    });
  }
}

/** The remembered name, or ''. */
function readStoredName() {
  try {
    return localStorage.getItem(NAME_STORAGE_KEY) || '';
  } catch {
    return '';
  }
}

/** @param {string} name */
function storeName(name) {
  try {
    localStorage.setItem(NAME_STORAGE_KEY, name);
  } catch {
    // private mode or storage full: the name is just not remembered
  }
}

/**
 * Clipboard fallback for browsers without the async Clipboard API (or on plain http).
 * @param {string} text
 */
function copyWithTextarea(text) {
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.style.position = 'fixed';
  ta.style.opacity = '0';
  document.body.append(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

const app = new App();
// Exposed for debugging in the console and for rtc.js to hook into later.
/** @type {any} */ (window).videomeet = app;
app.start();
