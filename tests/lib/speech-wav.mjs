// A synthetic voice for Chromium's fake microphone (--use-file-for-fake-audio-capture=FILE): a
// 16-bit mono WAV of "syllables" (a 110-220 Hz fundamental with decaying harmonics, 150-400 ms
// each) separated by short pauses (60-160 ms), about -14 dBFS while sounding. Chromium's default
// fake microphone beeps 20 ms every half second, which is too little speech for the SFU's active
// speaker detector (by design: a cough does not take the floor); this sounds most of the time, like
// somebody talking. Deterministic (fixed seed). Chromium loops the file.
import fs from 'node:fs';

/**
 * Writes the WAV to `file`.
 * @param {string} file
 * @param {{seconds?: number, rate?: number}} [opts]
 */
export function writeSpeechWav(file, opts = {}) {
  const rate = opts.rate ?? 48000;
  const n = Math.round((opts.seconds ?? 8) * rate);
  const pcm = new Int16Array(n);
  let seed = 12345;
  const rnd = () => ((seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648);
  let i = 0;
  while (i < n) {
    const len = Math.round((0.15 + 0.25 * rnd()) * rate);
    const f0 = 110 + 110 * rnd();
    for (let k = 0; k < len && i < n; k++, i++) {
      const t = k / rate;
      const env = Math.min(1, k / (0.02 * rate), (len - k) / (0.02 * rate)); // 20 ms fades
      let v = 0;
      for (let h = 1; h <= 5; h++) v += Math.sin(2 * Math.PI * f0 * (1 + 0.05 * t) * h * t) / h;
      pcm[i] = Math.round(env * v * 0.2 * 32767 / 2.3);
    }
    i += Math.round((0.06 + 0.1 * rnd()) * rate); // a pause (zeros)
  }
  const data = Buffer.from(pcm.buffer);
  const h = Buffer.alloc(44);
  h.write('RIFF', 0);
  h.writeUInt32LE(36 + data.length, 4);
  h.write('WAVE', 8);
  h.write('fmt ', 12);
  h.writeUInt32LE(16, 16);
  h.writeUInt16LE(1, 20); // PCM
  h.writeUInt16LE(1, 22); // mono
  h.writeUInt32LE(rate, 24);
  h.writeUInt32LE(rate * 2, 28);
  h.writeUInt16LE(2, 32);
  h.writeUInt16LE(16, 34);
  h.write('data', 36);
  h.writeUInt32LE(data.length, 40);
  fs.writeFileSync(file, Buffer.concat([h, data]));
}
