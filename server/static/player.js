// Plays a stream's sentences back to back with the Web Audio API as they arrive, tells which
// sentence is audible and how far into its speech, and keeps the samples so the whole reply can be
// replayed or downloaded as one WAV file afterwards.

// Scheduling margin: a buffer is never started in the past, so none of it is skipped.
const LEAD_S = 0.05;

function base64Bytes(data) {
  // The decoded bytes of a base64 string.
  const binary = atob(data);
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function floatSamples(bytes) {
  // 16-bit signed little-endian PCM as floats in [-1, 1).
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const samples = new Float32Array(bytes.byteLength >> 1);
  for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(2 * i, true) / 32768;
  return samples;
}

export function wavBlob(chunks, sampleRate) {
  // A 16-bit mono WAV file of the PCM byte chunks, in order.
  const dataBytes = chunks.reduce((total, chunk) => total + chunk.byteLength, 0);
  const header = new DataView(new ArrayBuffer(44));
  const text = (offset, value) => [...value].forEach((ch, i) => header.setUint8(offset + i, ch.charCodeAt(0)));
  text(0, "RIFF");
  header.setUint32(4, 36 + dataBytes, true);
  text(8, "WAVE");
  text(12, "fmt ");
  header.setUint32(16, 16, true); // size of the fmt chunk
  header.setUint16(20, 1, true); // PCM
  header.setUint16(22, 1, true); // mono
  header.setUint32(24, sampleRate, true);
  header.setUint32(28, sampleRate * 2, true); // bytes per second
  header.setUint16(32, 2, true); // bytes per frame
  header.setUint16(34, 16, true); // bits per sample
  text(36, "data");
  header.setUint32(40, dataBytes, true);
  return new Blob([header.buffer, ...chunks], { type: "audio/wav" });
}

export class StreamPlayer {
  // One reply: `add` each `sentence` event's data in order; `position()` while it plays.
  constructor(context) {
    this.context = context;
    this.sources = [];
    // PCM bytes of each sentence (its pause included), for `wav()`.
    this.chunks = [];
    // Per sentence, in context time: {speechStart (after its pause), end}.
    this.scheduled = [];
    // Per sentence, in seconds into the whole recording: {speechStart, end}.
    this.recorded = [];
    this.nextStart = 0;
    this.sampleRate = null;
  }

  add(sentence) {
    // Schedule the sentence right after the previous one (or now, if that has already ended);
    // returns performance.now() at the moment its source node was started.
    const bytes = base64Bytes(sentence.audio);
    const samples = floatSamples(bytes);
    const rate = sentence.sample_rate;
    const pauseSeconds = sentence.pause_samples / rate;
    this.sampleRate = this.sampleRate || rate;
    const wholeStart = this.recorded.length ? this.recorded[this.recorded.length - 1].end : 0;
    this.chunks.push(bytes);
    this.recorded.push({ speechStart: wholeStart + pauseSeconds, end: wholeStart + samples.length / rate });

    const buffer = this.context.createBuffer(1, Math.max(1, samples.length), rate);
    buffer.copyToChannel(samples, 0);
    const source = this.context.createBufferSource();
    source.buffer = buffer;
    source.connect(this.context.destination);
    const start = Math.max(this.nextStart, this.context.currentTime + LEAD_S);
    source.start(start);
    const startedAt = performance.now();
    this.sources.push(source);
    this.scheduled.push({ speechStart: start + pauseSeconds, end: start + buffer.duration });
    this.nextStart = start + buffer.duration;
    return startedAt;
  }

  audibleTime() {
    // The context time of the sample leaving the speakers now (the output latency behind).
    return Math.max(0, this.context.currentTime - (this.context.outputLatency || 0));
  }

  position() {
    // {sentence, seconds} into the audible sentence's speech; null in a pause or when nothing plays.
    return locate(this.scheduled, this.audibleTime());
  }

  positionInRecording(seconds) {
    // The same, for a time into the whole reply (the <audio> element's currentTime).
    return locate(this.recorded, seconds);
  }

  get playedOut() {
    // Every scheduled sentence has been heard.
    return this.audibleTime() >= this.nextStart;
  }

  stop() {
    // Silence it now (a new reply, or the user playing the whole recording instead).
    for (const source of this.sources) {
      try {
        source.stop();
      } catch (error) {
        // never started or already stopped
      }
    }
    this.sources = [];
    this.nextStart = 0;
  }

  wav() {
    // The whole reply as one WAV file.
    return wavBlob(this.chunks, this.sampleRate || 22050);
  }
}

function locate(spans, time) {
  for (let i = 0; i < spans.length; i++) {
    if (time >= spans[i].speechStart && time < spans[i].end) {
      return { sentence: i, seconds: time - spans[i].speechStart };
    }
  }
  return null;
}
