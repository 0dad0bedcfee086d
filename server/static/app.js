// Sori's web page: speak text as a stream (each sentence played as soon as it arrives, its attention
// alignment drawn, a cursor and the syllable being heard following the audio), ask the assistant,
// and keep the API key.
//
// Read-only hooks, for tests and the curious:
// - window.soriPlayback, the last spoken reply (times are performance.now() milliseconds):
//     state: "idle" | "streaming" | "ended" (heard to the end, or stopped to play the recording)
//       | "failed";
//     requestSentAt: the /speak request was sent;
//     firstSoundAt: the first sentence's AudioBufferSourceNode was started;
//     doneAt: the bytes holding the `done` event were read;
//     sentences: per `sentence` event {index, text, labels, alignment, step_seconds, receivedAt,
//       startedAt} (its audio left out);
//     current: {sentence, step, symbol, unit} under the cursor now, or null.
// - window.soriAnnouncements, finished timers announced while the page was open (see
//   announcements.js).
// - #sentences carries data-sentence and data-unit (the index of the highlighted unit in that
//   sentence's pronounced line, spaces and punctuation counted as units) while one is highlighted.

import { ApiError, STATUS_MESSAGES, post, serverSentEvents } from "./api.js";
import { SentenceView } from "./alignment.js";
import { setUpAnnouncements } from "./announcements.js";
import { setUpMicrophone } from "./microphone.js";
import { StreamPlayer } from "./player.js";

const $ = (id) => document.getElementById(id);
const KEY_STORAGE = "sori.apiKey";

const playback = {
  state: "idle", requestSentAt: null, firstSoundAt: null, doneAt: null, sentences: [], current: null,
};
window.soriPlayback = playback;

let audioContext = null;
let player = null; // the StreamPlayer of the reply on screen; null for an assistant answer
let views = []; // its SentenceViews, by sentence index
let streamOpen = false; // sentences may still arrive
let driver = "stream"; // what the cursor follows: "stream" (Web Audio) or "recording" (<audio>)
let frame = null;
let shown = null; // the sentence index under the cursor, or null
let audioUrl = null;
let imageUrl = null;

function apiKey() {
  return $("api-key").value.trim();
}

function showError(error) {
  const box = $("error");
  if (error instanceof ApiError) {
    const summary = STATUS_MESSAGES[error.status] || `요청이 실패했습니다 (HTTP ${error.status}).`;
    const retry = error.retryAfter ? ` (${error.retryAfter}초 후 다시 시도)` : "";
    box.textContent = error.status ? `${summary}${retry}\n${error.detail}` : error.detail;
  } else {
    box.textContent = `오류: ${error}`;
  }
  box.hidden = false;
}

function clearMessages() {
  $("error").hidden = true;
  $("error").textContent = "";
  $("status").textContent = "";
}

function setBusy(busy, message) {
  for (const id of ["speak", "ask"]) $(id).disabled = busy;
  $("status").textContent = message || "";
}

function setRecording(blob, info) {
  // The whole reply on the <audio> element and the download link (not played automatically).
  if (audioUrl) URL.revokeObjectURL(audioUrl);
  audioUrl = URL.createObjectURL(blob);
  $("audio").src = audioUrl;
  $("download").href = audioUrl;
  $("recording").hidden = false;
  $("audio-info").textContent = info;
}

function clearRecording() {
  const audio = $("audio");
  audio.pause();
  audio.removeAttribute("src");
  audio.load();
  $("recording").hidden = true;
  $("audio-info").textContent = "";
}

// --- the cursor ---------------------------------------------------------------------------------

function showPosition(position) {
  // Cursor and highlight at {sentence, seconds into its speech}; null clears them.
  const index = position ? position.sentence : null;
  if (shown !== null && shown !== index && views[shown]) views[shown].show(null);
  shown = index;
  let current = null;
  if (position && views[index]) {
    const step = Math.floor(position.seconds / views[index].sentence.step_seconds);
    const where = views[index].show(step);
    if (where) current = { sentence: index, ...where };
  }
  playback.current = current;
  const list = $("sentences");
  if (current && current.unit >= 0) {
    // Written only when they change, so that an observer sees one record per move.
    if (list.dataset.sentence !== String(current.sentence)) list.dataset.sentence = current.sentence;
    if (list.dataset.unit !== String(current.unit)) list.dataset.unit = current.unit;
  } else {
    delete list.dataset.sentence;
    delete list.dataset.unit;
  }
}

function follow() {
  // One animation frame: move the cursor to the sample being heard; stop when nothing plays.
  frame = null;
  if (!player) return;
  const audio = $("audio");
  if (driver === "recording") {
    showPosition(player.positionInRecording(audio.currentTime));
    if (audio.paused || audio.ended) return;
  } else {
    showPosition(player.position());
    if (!streamOpen && player.playedOut) {
      showPosition(null);
      if (playback.state === "streaming") playback.state = "ended";
      return;
    }
  }
  frame = requestAnimationFrame(follow);
}

function followFrom(source) {
  driver = source;
  if (frame === null) frame = requestAnimationFrame(follow);
}

function stopPlayback() {
  if (player) player.stop();
  if (frame !== null) cancelAnimationFrame(frame);
  frame = null;
  showPosition(null);
}

// --- speaking -----------------------------------------------------------------------------------

function addSentence(data, receivedAt) {
  // Show the sentence and schedule its audio right after the one before.
  const view = new SentenceView(data);
  views[data.index] = view;
  $("sentences").append(view.element);
  const startedAt = player.add(data);
  if (playback.firstSoundAt === null) playback.firstSoundAt = startedAt;
  const { audio: _audio, ...kept } = data;
  playback.sentences.push({ ...kept, receivedAt, startedAt });
  $("status").textContent = `재생 중… (문장 ${data.index + 1}개 도착)`;
  followFrom("stream");
}

function summary(done, voice) {
  const attention = done.failed_sentences
    ? `어텐션 실패: ${done.sentences}문장 중 ${done.failed_sentences}문장이 정렬이 끝까지 가지 못했습니다`
    : "어텐션 정상";
  return [`${done.seconds.toFixed(2)}초`, `${done.sentences}문장`, voice && `목소리 ${voice}`, attention]
    .filter(Boolean).join(" · ");
}

async function speak() {
  const text = $("text").value;
  clearMessages();
  $("answer").hidden = true;
  $("result").hidden = true;
  stopPlayback();
  clearRecording();
  // Made or resumed while handling the click: browsers let audio start only after a user gesture.
  audioContext = audioContext || new AudioContext();
  audioContext.resume().catch(() => {
    // refused: the whole reply is still offered on the <audio> element at the end
  });
  player = new StreamPlayer(audioContext);
  views = [];
  $("sentences").replaceChildren();
  $("alignment-figure").hidden = true;
  Object.assign(playback, {
    state: "idle", requestSentAt: performance.now(), firstSoundAt: null, doneAt: null, sentences: [], current: null,
  });
  setBusy(true, "합성 중…");
  let voice = "";
  try {
    const response = await post("/speak", { text, stream: true, stream_format: "sse" }, apiKey());
    voice = response.headers.get("X-Sori-Voice") || "";
    playback.state = "streaming";
    streamOpen = true;
    $("result").hidden = false;
    $("sentences-box").hidden = false;
    let done = null;
    for await (const { event, data, receivedAt } of serverSentEvents(response)) {
      if (event === "sentence") addSentence(data, receivedAt);
      else if (event === "error") throw new ApiError(data.status, data.detail, null);
      else if (event === "done") {
        playback.doneAt = receivedAt;
        done = data;
      }
    }
    if (!done) throw new ApiError(0, "음성 스트림이 도중에 끊겼습니다.", null);
    setRecording(player.wav(), summary(done, voice));
    $("status").textContent = "";
  } catch (error) {
    playback.state = "failed";
    showError(error);
    if (player.chunks.length) setRecording(player.wav(), "도중에 끊긴 음성 (도착한 문장까지)");
    $("status").textContent = "";
  } finally {
    streamOpen = false;
    setBusy(false, $("status").textContent);
  }
}

// --- the assistant ------------------------------------------------------------------------------

function base64ToBlob(data, type) {
  const bytes = Uint8Array.from(atob(data), (ch) => ch.charCodeAt(0));
  return new Blob([bytes], { type });
}

function replyInfo(headers) {
  const seconds = Number(headers.get("X-Sori-Audio-Seconds") || 0).toFixed(2);
  const ok = headers.get("X-Sori-Attention-OK");
  const attention = ok === "true" ? "어텐션 정상"
    : ok === "false" ? "어텐션 실패: 일부 문장에서 정렬이 끝까지 가지 못했습니다" : "";
  const voice = headers.get("X-Sori-Voice") || "";
  return [`${seconds}초`, voice && `목소리 ${voice}`, attention].filter(Boolean).join(" · ");
}

async function showReplyAlignment(text) {
  // The reply's alignment as the server's PNG (the same synthesis, shared through its cache).
  try {
    const response = await post("/speak/alignment", { text }, apiKey());
    if (imageUrl) URL.revokeObjectURL(imageUrl);
    imageUrl = URL.createObjectURL(await response.blob());
    $("alignment").src = imageUrl;
    $("alignment-figure").hidden = false;
  } catch (error) {
    showError(error);
  }
}

async function ask() {
  const text = $("text").value;
  clearMessages();
  stopPlayback();
  player = null;
  setBusy(true, "생각 중…");
  try {
    const response = await post("/assistant", { text }, apiKey());
    const answer = await response.json();
    $("intent").textContent = answer.intent || "(알아듣지 못함)";
    $("slots").textContent = Object.keys(answer.slots || {}).length ? JSON.stringify(answer.slots) : "—";
    $("reply").textContent = answer.reply === null ? "(할 말 없음)" : answer.reply;
    $("answer").hidden = false;
    if (answer.audio) {
      $("sentences-box").hidden = true;
      $("result").hidden = false;
      setRecording(base64ToBlob(answer.audio, "audio/wav"), replyInfo(response.headers));
      $("audio").play().catch(() => {
        // autoplay may be refused; the controls are there to press play
      });
      await showReplyAlignment(answer.reply);
    } else {
      $("result").hidden = true;
    }
  } catch (error) {
    showError(error);
  } finally {
    setBusy(false, "");
  }
}

function setUpRecording() {
  // Replaying the whole reply moves the cursor too; it silences the stream if that still plays.
  const audio = $("audio");
  audio.addEventListener("play", () => {
    if (!player) return;
    player.stop();
    if (playback.state === "streaming") playback.state = "ended";
    followFrom("recording");
  });
  audio.addEventListener("seeked", () => {
    if (player && audio.paused) showPosition(player.positionInRecording(audio.currentTime));
  });
}

function setUpApiKey() {
  const input = $("api-key");
  input.value = localStorage.getItem(KEY_STORAGE) || "";
  input.addEventListener("change", () => localStorage.setItem(KEY_STORAGE, input.value.trim()));
}

$("form").addEventListener("submit", (event) => {
  event.preventDefault();
  speak();
});
$("ask").addEventListener("click", ask);
setUpRecording();
setUpMicrophone(clearMessages);
setUpApiKey();
setUpAnnouncements(apiKey);
