// media.js — the local camera and microphone.
//
// Owns: the local MediaStream (one video track at most, one audio track at most), device
// enumeration, switching devices, enabling/disabling tracks, and the microphone level meter.
// No DOM code: the app gives the stream to a <video> element itself.
//
// Design
// - `MediaManager.start()` asks for camera and microphone together; if that fails it asks for each
//   alone, so a missing or refused camera still leaves the microphone (and the other way round).
//   What happened to each kind is kept in `status.camera` / `status.mic`:
//   'ok' | 'denied' | 'missing' | 'busy' | 'error' | 'off' (not asked for).
// - The stream object stays the same for the manager's life; switching a device acquires a new
//   track for that kind, puts it in place of the old one (which is stopped), and dispatches
//   `trackchange` (detail {kind, oldTrack, newTrack}) so a peer connection can replaceTrack() and a
//   <video> can be re-attached. `statuschange` is dispatched whenever `status` changes.
// - Muting is `track.enabled = false` (the device stays open, so unmuting is instant); the wanted
//   state is kept in `audioEnabled` / `videoEnabled` and applied to new tracks too.
// - `LevelMeter` reads a track through WebAudio (MediaStreamSource → AnalyserNode) and returns
//   the RMS level of the latest window scaled to 0..1; the caller polls it once per frame.

import { MEDIA_CONSTRAINTS } from './config.js';

/** @typedef {'ok'|'denied'|'missing'|'busy'|'error'|'off'} DeviceStatus */
/** @typedef {{deviceId: string, label: string}} DeviceInfo */

/**
 * Maps a getUserMedia error to a DeviceStatus.
 * @param {unknown} err
 * @returns {DeviceStatus}
 */
export function statusFromError(err) {
  const name = err && typeof err === 'object' && 'name' in err ? String(err.name) : '';
  switch (name) {
    case 'NotAllowedError':
    case 'SecurityError':
    case 'PermissionDeniedError':
      return 'denied';
    case 'NotFoundError':
    case 'OverconstrainedError':
    case 'DevicesNotFoundError':
      return 'missing';
    case 'NotReadableError':
    case 'AbortError':
    case 'TrackStartError':
      return 'busy';
    default:
      return 'error';
  }
}

export class MediaManager extends EventTarget {
  constructor() {
    super();
    /** The local stream; its tracks change, the object does not. */
    this.stream = new MediaStream();
    /** @type {{camera: DeviceStatus, mic: DeviceStatus}} */
    this.status = { camera: 'off', mic: 'off' };
    this.audioEnabled = true;
    this.videoEnabled = true;
    /** @type {string} the chosen camera ('' = the browser's default) */
    this.cameraId = '';
    /** @type {string} the chosen microphone ('' = the browser's default) */
    this.micId = '';
  }

  /** @returns {MediaStreamTrack|null} */
  get videoTrack() {
    return this.stream.getVideoTracks()[0] || null;
  }

  /** @returns {MediaStreamTrack|null} */
  get audioTrack() {
    return this.stream.getAudioTracks()[0] || null;
  }

  /** True when getUserMedia exists at all (it does not on plain http from another host). */
  static get supported() {
    return !!(navigator.mediaDevices && navigator.mediaDevices.getUserMedia);
  }

  /**
   * Acquires camera and microphone. Never rejects: what failed is in `status`.
   * @returns {Promise<{camera: DeviceStatus, mic: DeviceStatus}>}
   */
  async start() {
    if (!MediaManager.supported) {
      this.#setStatus({ camera: 'error', mic: 'error' });
      return this.status;
    }
    const status = { camera: /** @type {DeviceStatus} */ ('ok'), mic: /** @type {DeviceStatus} */ ('ok') };
    try {
      const s = await navigator.mediaDevices.getUserMedia({
        video: this.#videoConstraints(), audio: this.#audioConstraints(),
      });
      this.#replace('video', s.getVideoTracks()[0] || null);
      this.#replace('audio', s.getAudioTracks()[0] || null);
    } catch {
      // Ask for each kind alone to learn which one failed, and keep the one that works.
      status.camera = await this.#acquire('video');
      status.mic = await this.#acquire('audio');
    }
    if (!this.videoTrack && status.camera === 'ok') status.camera = 'missing';
    if (!this.audioTrack && status.mic === 'ok') status.mic = 'missing';
    this.#setStatus(status);
    return this.status;
  }

  /**
   * Acquires one kind alone, putting the new track in place of the old.
   * @param {'video'|'audio'} kind
   * @returns {Promise<DeviceStatus>}
   */
  async #acquire(kind) {
    try {
      const constraints = kind === 'video'
        ? { video: this.#videoConstraints() }
        : { audio: this.#audioConstraints() };
      const s = await navigator.mediaDevices.getUserMedia(constraints);
      const track = kind === 'video' ? s.getVideoTracks()[0] : s.getAudioTracks()[0];
      if (!track) return 'missing';
      this.#replace(kind, track);
      return 'ok';
    } catch (err) {
      return statusFromError(err);
    }
  }

  /**
   * Cameras and microphones. Labels are empty until permission was given.
   * @returns {Promise<{cameras: DeviceInfo[], mics: DeviceInfo[]}>}
   */
  async listDevices() {
    /** @type {{cameras: DeviceInfo[], mics: DeviceInfo[]}} */
    const out = { cameras: [], mics: [] };
    if (!navigator.mediaDevices || !navigator.mediaDevices.enumerateDevices) return out;
    let devices = [];
    try {
      devices = await navigator.mediaDevices.enumerateDevices();
    } catch {
      return out;
    }
    for (const d of devices) {
      if (!d.deviceId) continue; // hidden before permission
      const list = d.kind === 'videoinput' ? out.cameras : d.kind === 'audioinput' ? out.mics : null;
      if (!list) continue;
      const n = list.length + 1;
      list.push({
        deviceId: d.deviceId,
        label: d.label || (d.kind === 'videoinput' ? `Camera ${n}` : `Microphone ${n}`),
      });
    }
    return out;
  }

  /** The deviceId of the track in use for a kind, or ''. */
  currentDeviceId(/** @type {'video'|'audio'} */ kind) {
    const track = kind === 'video' ? this.videoTrack : this.audioTrack;
    if (!track || typeof track.getSettings !== 'function') return '';
    return track.getSettings().deviceId || '';
  }

  /**
   * Switches the camera: acquires a track from `deviceId` and replaces the old one.
   * @param {string} deviceId
   * @returns {Promise<DeviceStatus>}
   */
  async switchCamera(deviceId) {
    this.cameraId = deviceId;
    const st = await this.#acquire('video');
    this.#setStatus({ ...this.status, camera: st === 'ok' ? 'ok' : (this.videoTrack ? 'ok' : st) });
    return st;
  }

  /**
   * Switches the microphone: acquires a track from `deviceId` and replaces the old one.
   * @param {string} deviceId
   * @returns {Promise<DeviceStatus>}
   */
  async switchMic(deviceId) {
    this.micId = deviceId;
    const st = await this.#acquire('audio');
    this.#setStatus({ ...this.status, mic: st === 'ok' ? 'ok' : (this.audioTrack ? 'ok' : st) });
    return st;
  }

  /** @param {boolean} on */
  setAudioEnabled(on) {
    this.audioEnabled = !!on;
    if (this.audioTrack) this.audioTrack.enabled = this.audioEnabled;
  }

  /** @param {boolean} on */
  setVideoEnabled(on) {
    this.videoEnabled = !!on;
    if (this.videoTrack) this.videoTrack.enabled = this.videoEnabled;
  }

  /** What we tell the others: on only when the track exists and is enabled. */
  get mediaFlags() {
    return {
      audio: !!this.audioTrack && this.audioEnabled,
      video: !!this.videoTrack && this.videoEnabled,
    };
  }

  /** Stops every track (the camera light goes off). The manager can start() again. */
  stop() {
    for (const t of this.stream.getTracks()) {
      t.stop();
      this.stream.removeTrack(t);
    }
    this.#setStatus({ camera: 'off', mic: 'off' });
  }

  /**
   * @param {'video'|'audio'} kind
   * @param {MediaStreamTrack|null} track
   */
  #replace(kind, track) {
    const oldTrack = kind === 'video' ? this.videoTrack : this.audioTrack;
    if (oldTrack === track) return;
    if (oldTrack) {
      oldTrack.stop();
      this.stream.removeTrack(oldTrack);
    }
    if (track) {
      track.enabled = kind === 'video' ? this.videoEnabled : this.audioEnabled;
      this.stream.addTrack(track);
      track.addEventListener('ended', () => {
        // Unplugged or revoked: forget it so the UI can show the device as gone.
        if (!this.stream.getTracks().includes(track)) return;
        this.stream.removeTrack(track);
        this.#setStatus({ ...this.status, [kind === 'video' ? 'camera' : 'mic']: 'missing' });
        this.#emit('trackchange', { kind, oldTrack: track, newTrack: null });
      });
    }
    this.#emit('trackchange', { kind, oldTrack, newTrack: track });
  }

  #videoConstraints() {
    /** @type {MediaTrackConstraints} */
    const c = { ...MEDIA_CONSTRAINTS.video };
    if (this.cameraId) c.deviceId = { exact: this.cameraId };
    return c;
  }

  #audioConstraints() {
    /** @type {MediaTrackConstraints} */
    const c = { ...MEDIA_CONSTRAINTS.audio };
    if (this.micId) c.deviceId = { exact: this.micId };
    return c;
  }

  /** @param {{camera: DeviceStatus, mic: DeviceStatus}} status */
  #setStatus(status) {
    if (status.camera === this.status.camera && status.mic === this.status.mic) return;
    this.status = { ...status };
    this.#emit('statuschange', this.status);
  }

  /**
   * @param {string} type
   * @param {object} detail
   */
  #emit(type, detail) {
    this.dispatchEvent(new CustomEvent(type, { detail }));
  }
}

/** Microphone level through WebAudio; poll `level()` once per animation frame. */
export class LevelMeter {
  /** @param {MediaStreamTrack} track an audio track */
  constructor(track) {
    const Ctx = window.AudioContext || /** @type {any} */ (window).webkitAudioContext;
    /** @type {AudioContext} */
    this.ctx = new Ctx();
    this.source = this.ctx.createMediaStreamSource(new MediaStream([track]));
    this.analyser = this.ctx.createAnalyser();
    this.analyser.fftSize = 1024;
    this.analyser.smoothingTimeConstant = 0.3;
    this.source.connect(this.analyser); // not to the destination: no echo of ourselves
    this.buf = new Float32Array(this.analyser.fftSize);
    this.smoothed = 0;
  }

  /** Resumes the AudioContext (browsers start it suspended until the user interacted). */
  resume() {
    if (this.ctx.state === 'suspended') this.ctx.resume().catch(() => {});
  }

  /** @returns {number} 0..1, roughly logarithmic so speech moves the bar well. */
  level() {
    this.analyser.getFloatTimeDomainData(this.buf);
    let sum = 0;
    for (let i = 0; i < this.buf.length; i++) sum += this.buf[i] * this.buf[i];
    const rms = Math.sqrt(sum / this.buf.length);
    // -60 dBFS → 0, 0 dBFS → 1
    const db = rms > 0 ? 20 * Math.log10(rms) : -100;
    const v = Math.min(1, Math.max(0, (db + 60) / 60));
    // Fast attack, slow release.
    this.smoothed = v > this.smoothed ? v : this.smoothed * 0.85 + v * 0.15;
    return this.smoothed;
  }

  close() {
    try {
      this.source.disconnect();
    } catch {
      // already disconnected
    }
    this.ctx.close().catch(() => {});
  }
}
