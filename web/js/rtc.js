// rtc.js — the browser's two WebRTC connections to the VideoMeet SFU (signaling/PROTOCOL.md, "Media").
//
// Owns: the "up" RTCPeerConnection (this browser publishes its camera and microphone once; it
// offers, the SFU answers) and the "down" RTCPeerConnection (the SFU offers every other
// participant's tracks; this browser answers), trickle ICE on both, and the mapping of received
// streams to participants (the SFU uses the publisher's userId as the msid stream id).
// No DOM code: the app listens to events and renders.
//
// Events (CustomEvent, EventTarget):
//   `remotestream`  detail {userId, stream}   a participant's stream appeared or got a new track
//   `remotegone`    detail {userId}           all tracks of that participant ended
//   `statechange`   detail {pc: 'up'|'down', state}   connectionState of either connection
//   `repairing`     detail {pc, attempt, delayMs}  a connection broke: an ICE restart follows in delayMs
//   `repaired`      detail {pc}                    it works again
//   `gaveup`        detail {pc, attempt}           no more restarts until retryNow()
//   `datachannel`   detail {channel}          the meeting's RTCDataChannel on "up" (datachannel.js)
//   `videopaused`   detail {userId, paused}   the SFU paused (or resumed) that participant's video
//                                            for lack of bandwidth
//   `screenstream`  detail {userId, stream, mid}  a participant's shared screen arrived (share.js)
//   `screengone`    detail {userId, mid}      it ended
//
// Screen sharing (PROTOCOL.md "Screen sharing"): publishScreen() adds our screen as another video
// m-line on "up" (every offer on "up" says which m-lines are screens: `sources`);
// unpublishScreen() stops it. Offers on "up" go one at a time: one asked for while another waits
// for its answer is made after it.
//
// Simulcast control (PROTOCOL.md "Video sizes and layers"): setViews() tells the SFU how each
// received video is shown (size, or hidden); the SFU's `video-layers` says which of our encodings
// somebody receives, and the others are turned off (RTCRtpEncodingParameters.active).
//
// Repair (PROTOCOL.md "Reconnecting"): a connection "failed", or "disconnected" for DISCONNECTED_MS
// (it often comes back by itself), is repaired in place with an ICE restart, paced by retry.js:
// "up" offers again with new ICE credentials (restartIce); for "down" the SFU is asked
// (`ice-restart`) and offers new ones. Tracks, streams, DTLS and SRTP stay; nobody leaves. A
// restart that has not brought the connection back within REPAIR_TIMEOUT_MS counts as failed.
//
// Held start: a session made with {held: true} prepares everything it can (the "up" connection,
// its offer, ICE gathering) but keeps its messages until release(), so the app can build the
// offer while the join round trip is under way and send it the moment the server has let us in.

import { Retry } from './retry.js';
import { screenMidsOf } from './share.js';
import { LABEL as DATA_LABEL } from './datachannel.js';

/** @typedef {{type: string, [k: string]: any}} Msg */

/** How long a connection may stay "disconnected" before it is repaired. */
export const DISCONNECTED_MS = 2000;
/** A restart that has not made the connection work again after this long counts as failed. */
export const REPAIR_TIMEOUT_MS = 10000;

/**
 * The simulcast encodings for a camera track, lowest resolution first (the SFU takes the order of
 * a=simulcast as its layer order): three (q, h, f at 1/4, 1/2 and full size) from 540 lines up,
 * two (h, f) from 270, none below (one stream). Each asks for three temporal layers (L1T3).
 * @param {MediaStreamTrack} track
 * @returns {RTCRtpEncodingParameters[]}
 */
export function simulcastEncodings(track) {
  const s = track.getSettings ? track.getSettings() : {};
  const height = Math.min(s.height || 0, s.width || 0) || s.height || 0;
  /** @type {Array<[string, number]>} */
  const ladder = height >= 540 ? [['q', 4], ['h', 2], ['f', 1]] : height >= 270 ? [['h', 2], ['f', 1]] : [];
  return ladder.map(([rid, scale]) => ({ rid, scaleResolutionDownBy: scale, scalabilityMode: 'L1T3' }));
}

/**
 * Makes the browser gather ICE candidates once, on a throwaway connection with no ICE servers (so
 * nothing leaves the machine), and closes it. The first connection a page makes waits on the
 * browser's network enumeration (about 150 ms in Chromium); doing it on the setup page keeps that
 * wait out of joining. Resolves when gathering is complete, or after 3 s.
 * @returns {Promise<void>}
 */
export async function warmUpIce() {
  /** @type {RTCPeerConnection|null} */
  let pc = null;
  try {
    pc = new RTCPeerConnection({ iceServers: [] });
    pc.createDataChannel('warm-up');
    const done = new Promise((resolve) => {
      const p = /** @type {RTCPeerConnection} */ (pc);
      p.onicegatheringstatechange = () => { if (p.iceGatheringState === 'complete') resolve(undefined); };
      setTimeout(resolve, 3000);
    });
    await pc.setLocalDescription(await pc.createOffer());
    await done;
  } catch {
    /* an optimisation only */
  } finally {
    if (pc) pc.close();
  }
}

export class SfuSession extends EventTarget {
  /**
   * @param {(msg: Msg) => void} send  sends one protocol message to the server
   * @param {RTCIceServer[]} iceServers  from /api/config
   * @param {{held?: boolean}} [opts]  held: keep outgoing messages until release()
   */
  constructor(send, iceServers, opts = {}) {
    super();
    /** @type {Msg[]|null} messages kept while held */
    this.held = opts.held ? [] : null;
    this.send = (/** @type {Msg} */ msg) => {
      if (this.closed) return;
      if (this.held) this.held.push(msg);
      else send(msg);
    };
    this.config = { iceServers, bundlePolicy: 'max-bundle', rtcpMuxPolicy: 'require' };
    /** @type {RTCPeerConnection|null} */
    this.up = null;
    /** @type {RTCPeerConnection|null} */
    this.down = null;
    /** @type {Map<string, MediaStream>} userId → stream */
    this.streams = new Map();
    /** @type {Map<string, string>} userId → mid of its video on "down" */
    this.videoMids = new Map();
    /** the last video-views sent, as JSON (nothing is sent twice) */
    this.lastViews = '';
    /** Candidates that arrived before the remote description, per pc. */
    this.pending = { up: [], down: [] };
    /** Serialises the handling of server messages per pc. */
    this.chain = { up: Promise.resolve(), down: Promise.resolve() };
    /** @type {{audio: RTCRtpTransceiver|null, video: RTCRtpTransceiver|null}} */
    this.senders = { audio: null, video: null };
    /** @type {RTCRtpTransceiver|null} our shared screen on "up" */
    this.screen = null;
    /** an offer on "up" is wanted once the pending one is answered */
    this.upDirty = false;
    /** @type {Map<string, string>} mid on "down" → userId, of the shared screens we receive */
    this.screenMids = new Map();
    /** @type {RTCDataChannel|null} the meeting's data channel, made with "up" */
    this.dataChannel = null;
    this.closed = false;
    /** Per connection: its retry count, its pending timer, whether a repair is under way. */
    this.repair = { up: newRepair(), down: newRepair() };
    /** ICE restarts made, per connection (for diagnostics and tests). */
    this.restarts = { up: 0, down: 0 };
  }

  /** @param {'up'|'down'} name */
  makePc(name) {
    const pc = new RTCPeerConnection(this.config);
    pc.onicecandidate = (e) => {
      this.send({
        type: 'ice-candidate', pc: name,
        candidate: e.candidate ? e.candidate.candidate : null,
        sdpMid: e.candidate ? e.candidate.sdpMid : null,
      });
    };
    pc.onconnectionstatechange = () => {
      const state = pc.connectionState;
      this.dispatchEvent(new CustomEvent('statechange', { detail: { pc: name, state } }));
      this.#watch(name, state);
    };
    return pc;
  }

  /** @param {'up'|'down'} name @param {RTCPeerConnectionState} state */
  #watch(name, state) {
    const r = this.repair[name];
    if (this.closed) return;
    if (state === 'connected') {
      clearTimeout(r.timer);
      r.timer = null;
      r.retry.ok(Date.now());
      if (r.repairing) {
        r.repairing = false;
        this.dispatchEvent(new CustomEvent('repaired', { detail: { pc: name } }));
      }
    } else if (state === 'disconnected') {
      if (!r.timer) r.timer = setTimeout(() => this.#broken(name), DISCONNECTED_MS);
    } else if (state === 'failed') {
      clearTimeout(r.timer);
      this.#broken(name);
    }
  }

  /** The connection does not work: the next restart, after the backoff, or give up. */
  /** @param {'up'|'down'} name */
  #broken(name) {
    const r = this.repair[name];
    r.timer = null;
    const pc = name === 'up' ? this.up : this.down;
    if (this.closed || !pc || pc.connectionState === 'connected') return;
    r.repairing = true;
    const step = r.retry.fail(Date.now());
    if (step.action === 'give-up') {
      this.dispatchEvent(new CustomEvent('gaveup', { detail: { pc: name, attempt: step.attempt } }));
      return;
    }
    this.dispatchEvent(new CustomEvent('repairing', { detail: { pc: name, attempt: step.attempt, delayMs: step.delayMs } }));
    r.timer = setTimeout(() => {
      r.timer = setTimeout(() => this.#broken(name), REPAIR_TIMEOUT_MS);
      this.#restartIce(name);
    }, step.delayMs);
  }

  /** @param {'up'|'down'} name */
  #restartIce(name) {
    if (this.closed) return;
    if (name === 'down') {
      this.restarts.down++;
      this.send({ type: 'ice-restart', pc: 'down' });
      return;
    }
    this.chain.up = this.chain.up.then(async () => {
      const up = this.up;
      // With an offer out, its answer comes first; the repair timeout brings the next attempt.
      if (this.closed || !up || up.signalingState !== 'stable') return;
      up.restartIce();
      await up.setLocalDescription(await up.createOffer({ iceRestart: true }));
      this.restarts.up++;
      this.send(this.#upOffer());
    }).catch((err) => console.warn('rtc up: ICE restart:', err));
  }

  /** "Try again" after `gaveup`: a fresh count, and a restart now of what does not work. */
  retryNow() {
    for (const name of /** @type {const} */ (['up', 'down'])) {
      const r = this.repair[name];
      const pc = name === 'up' ? this.up : this.down;
      r.retry.reset();
      clearTimeout(r.timer);
      r.timer = null;
      if (pc && pc.connectionState !== 'connected') this.#broken(name);
    }
  }

  /**
   * Publishes the local tracks (either may be missing): a new kind of track is offered on pc "up";
   * a new track of a kind already sent (device switch) replaces the old one without renegotiation.
   * @param {MediaStream|null} stream
   */
  async publish(stream) {
    const tracks = stream ? stream.getTracks() : [];
    if (this.closed) return;
    let added = false;
    if (!this.up) {
      this.up = this.makePc('up');
      // The meeting's data channel (datachannel.js, PROTOCOL.md "Data channel") rides on "up": it
      // is the connection this browser offers, made at join whoever else is there, so the channel
      // is in its first offer; the SFU answers its m=application there.
      this.dataChannel = this.up.createDataChannel(DATA_LABEL);
      this.dispatchEvent(new CustomEvent('datachannel', { detail: { channel: this.dataChannel } }));
      added = true;
    }
    for (const track of tracks) {
      const kind = /** @type {'audio'|'video'} */ (track.kind);
      if (this.senders[kind]) {
        // A device switch: same sender, same SSRC, no renegotiation.
        await this.senders[kind].sender.replaceTrack(track);
      } else {
        const encodings = kind === 'video' ? simulcastEncodings(track) : [];
        this.senders[kind] = this.#addSender(track, stream, encodings);
        added = true;
      }
    }
    if (!added) return;
    const offer = await this.up.createOffer();
    await this.up.setLocalDescription(offer);
    this.send(this.#upOffer());
  }

  /** Our offer on "up" as sent: with the m-lines that carry a screen. */
  #upOffer() {
    const up = /** @type {RTCPeerConnection} */ (this.up);
    const mid = this.screen ? this.screen.mid : null;
    return {
      type: 'offer', pc: 'up', sdp: /** @type {RTCSessionDescription} */ (up.localDescription).sdp,
      sources: mid ? [{ mid, source: 'screen' }] : [],
    };
  }

  /** Offers again on "up" (after the pending answer, if one is awaited). */
  #renegotiateUp() {
    this.chain.up = this.chain.up.then(async () => {
      const up = this.up;
      if (this.closed || !up) return;
      if (up.signalingState !== 'stable') {
        this.upDirty = true;
        return;
      }
      this.upDirty = false;
      await up.setLocalDescription(await up.createOffer());
      this.send(this.#upOffer());
    }).catch((err) => console.warn('rtc up: renegotiation:', err));
  }

  /**
   * Publishes a shared screen: one more sendonly video m-line on "up", one stream (no simulcast).
   * @param {MediaStreamTrack} track
   */
  publishScreen(track) {
    if (this.closed) return;
    if (!this.up) this.up = this.makePc('up');
    if (this.screen) {
      this.screen.sender.replaceTrack(track).catch((err) => console.warn('rtc up: screen:', err));
      return;
    }
    this.screen = this.up.addTransceiver(track, { direction: 'sendonly', streams: [new MediaStream([track])] });
    this.#renegotiateUp();
  }

  /** Stops publishing our screen (its m-line is rejected in the next offer). */
  unpublishScreen() {
    const t = this.screen;
    this.screen = null;
    if (!t || this.closed) return;
    try {
      t.stop();
    } catch {
      t.direction = 'inactive'; // a browser without RTCRtpTransceiver.stop()
    }
    this.#renegotiateUp();
  }

  /**
   * A sendonly transceiver for track; with simulcast encodings when given. A browser that refuses
   * temporal layers (scalabilityMode) gets the encodings without them; one that refuses simulcast
   * sends one stream.
   * @param {MediaStreamTrack} track @param {MediaStream} stream @param {RTCRtpEncodingParameters[]} encodings
   */
  #addSender(track, stream, encodings) {
    const up = /** @type {RTCPeerConnection} */ (this.up);
    const tries = encodings.length
      ? [encodings, encodings.map(({ scalabilityMode, ...e }) => e), null]
      : [null];
    for (const sendEncodings of tries) {
      try {
        return up.addTransceiver(track, sendEncodings
          ? { direction: 'sendonly', streams: [stream], sendEncodings }
          : { direction: 'sendonly', streams: [stream] });
      } catch (err) {
        if (!sendEncodings) throw err;
      }
    }
    throw new Error('unreachable');
  }

  /**
   * Feeds one server message; returns true when it was a media message.
   * @param {Msg} msg
   */
  handle(msg) {
    if (msg.type === 'video-paused') {
      const userId = [...this.videoMids].find(([, mid]) => mid === msg.mid)?.[0];
      if (userId) this.dispatchEvent(new CustomEvent('videopaused', { detail: { userId, paused: msg.paused === true } }));
      return true;
    }
    if (msg.type === 'video-layers') {
      this.chain.up = this.chain.up.then(() => this.applyLayers(msg)).catch((err) => {
        console.warn('rtc up: video-layers:', err);
      });
      return true;
    }
    if (msg.type !== 'answer' && msg.type !== 'offer' && msg.type !== 'ice-candidate') return false;
    const name = msg.pc === 'down' ? 'down' : 'up';
    this.chain[name] = this.chain[name].then(() => this.apply(name, msg)).catch((err) => {
      console.warn(`rtc ${name}: ${msg.type}:`, err);
    });
    return true;
  }

  /** @param {'up'|'down'} name @param {Msg} msg */
  async apply(name, msg) {
    if (this.closed) return;
    if (msg.type === 'answer' && name === 'up' && this.up) {
      await this.up.setRemoteDescription({ type: 'answer', sdp: msg.sdp });
      await this.flush('up');
      if (this.upDirty) this.#renegotiateUp();
    } else if (msg.type === 'offer' && name === 'down') {
      if (!this.down) {
        this.down = this.makePc('down');
        this.down.ontrack = (e) => this.onTrack(e);
      }
      this.#screensOffered(screenMidsOf(msg.sdp));
      await this.down.setRemoteDescription({ type: 'offer', sdp: msg.sdp });
      const answer = await this.down.createAnswer();
      await this.down.setLocalDescription(answer);
      this.send({ type: 'answer', pc: 'down', sdp: this.down.localDescription.sdp });
      await this.flush('down');
    } else if (msg.type === 'ice-candidate') {
      const pc = name === 'up' ? this.up : this.down;
      const cand = msg.candidate ? { candidate: msg.candidate, sdpMid: msg.sdpMid, sdpMLineIndex: msg.sdpMLineIndex } : null;
      if (!pc || !pc.remoteDescription) {
        this.pending[name].push(cand);
      } else if (cand) {
        await pc.addIceCandidate(cand);
      }
    }
  }

  /**
   * Turns our simulcast encodings on or off as the SFU says somebody receives them (an encoding
   * without a rid, i.e. no simulcast, is left alone).
   * @param {Msg} msg  {mid, rids}
   */
  async applyLayers(msg) {
    const t = this.senders.video;
    if (this.closed || !t || t.mid !== msg.mid || !Array.isArray(msg.rids)) return;
    const params = t.sender.getParameters();
    const want = new Set(msg.rids);
    let changed = false;
    for (const e of params.encodings || []) {
      const on = !e.rid || want.has(e.rid);
      if (e.active !== on) {
        e.active = on;
        changed = true;
      }
    }
    if (changed) await t.sender.setParameters(params);
  }

  /**
   * Tells the SFU how each received video is shown, when that changed: its size in device pixels,
   * or hidden. Views of participants whose video we do not receive are left out.
   * @param {Array<{userId: string, width: number, height: number, hidden: boolean}>} views
   */
  setViews(views) {
    const list = [];
    for (const v of views) {
      const mid = this.videoMids.get(v.userId);
      if (!mid) continue;
      list.push(v.hidden ? { mid, hidden: true }
        : { mid, width: Math.max(1, Math.min(16384, v.width)), height: Math.max(1, Math.min(16384, v.height)) });
    }
    const text = JSON.stringify(list);
    if (!list.length || text === this.lastViews) return;
    this.lastViews = text;
    this.send({ type: 'video-views', views: list });
  }

  /** @param {'up'|'down'} name */
  async flush(name) {
    const pc = name === 'up' ? this.up : this.down;
    const list = this.pending[name];
    this.pending[name] = [];
    for (const cand of list) {
      if (cand && pc) await pc.addIceCandidate(cand);
    }
  }

  /**
   * The screens of a new offer on "down": the ones no longer offered have ended (told before the
   * offer is applied, so that a new share of the same person, arriving with it, stays).
   * @param {Map<string, string>} mids
   */
  #screensOffered(mids) {
    const old = this.screenMids;
    this.screenMids = mids;
    for (const [mid, userId] of old) {
      if (mids.get(mid) !== userId) this.dispatchEvent(new CustomEvent('screengone', { detail: { userId, mid } }));
    }
  }

  /** @param {RTCTrackEvent} e */
  onTrack(e) {
    const screenOf = e.transceiver && e.transceiver.mid ? this.screenMids.get(e.transceiver.mid) : undefined;
    if (screenOf) {
      const stream = e.streams[0] || new MediaStream([e.track]);
      const mid = /** @type {string} */ (e.transceiver.mid);
      this.dispatchEvent(new CustomEvent('screenstream', { detail: { userId: screenOf, stream, mid } }));
      return;
    }
    const stream = e.streams[0];
    if (!stream) return;
    const userId = stream.id;
    this.streams.set(userId, stream);
    if (e.track.kind === 'video' && e.transceiver && e.transceiver.mid) {
      this.videoMids.set(userId, e.transceiver.mid);
      this.lastViews = ''; // a new video: say how it is shown
    }
    this.dispatchEvent(new CustomEvent('remotestream', { detail: { userId, stream } }));
    // The SFU stops forwarding a participant's media (they left or unpublished) by making its
    // m-lines inactive: the tracks leave the stream.
    stream.onremovetrack = () => {
      if (stream.getVideoTracks().length === 0) this.videoMids.delete(userId);
      if (stream.getTracks().length === 0) {
        this.streams.delete(userId);
        this.dispatchEvent(new CustomEvent('remotegone', { detail: { userId } }));
      }
    };
  }

  /** The remote stream of a participant, if any. @param {string} userId */
  streamOf(userId) {
    return this.streams.get(userId) || null;
  }

  /** Sends what was kept while held, in order, and everything from now on. */
  release() {
    const list = this.held || [];
    this.held = null;
    for (const msg of list) this.send(msg);
  }

  close() {
    this.closed = true;
    this.held = null;
    for (const r of Object.values(this.repair)) clearTimeout(r.timer);
    for (const pc of [this.up, this.down]) {
      if (pc) pc.close();
    }
    this.up = null;
    this.down = null;
    this.streams.clear();
    this.videoMids.clear();
    this.screenMids.clear();
    this.screen = null;
    this.senders = { audio: null, video: null };
  }
}

/** A connection's repair state. */
function newRepair() {
  return { retry: new Retry(), timer: /** @type {ReturnType<typeof setTimeout>|null} */ (null), repairing: false };
}
