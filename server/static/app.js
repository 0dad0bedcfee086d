// Sori's web page: speak text, ask the assistant, play the audio and show the attention alignment.
"use strict";

const $ = (id) => document.getElementById(id);
const KEY_STORAGE = "sori.apiKey";

const STATUS_MESSAGES = {
  401: "API 키가 필요하거나 틀렸습니다. 아래 ‘API 키’에 입력하세요.",
  413: "텍스트가 너무 깁니다.",
  422: "말할 수 있는 내용이 없거나 입력이 올바르지 않습니다.",
  500: "서버에서 합성에 실패했습니다.",
  503: "서버가 바쁩니다. 잠시 후 다시 시도하세요.",
  504: "시간 안에 합성을 끝내지 못했습니다.",
};

class ApiError extends Error {
  constructor(status, detail, retryAfter) {
    super(detail);
    this.status = status;
    this.detail = detail;
    this.retryAfter = retryAfter;
  }
}

function detailText(detail) {
  // FastAPI validation errors are a list of {loc, msg}; our own errors are a string.
  if (Array.isArray(detail)) {
    return detail.map((item) => `${(item.loc || []).slice(1).join(".")}: ${item.msg}`).join("\n");
  }
  return typeof detail === "string" ? detail : JSON.stringify(detail);
}

async function post(path, body) {
  const headers = { "Content-Type": "application/json" };
  const key = $("api-key").value.trim();
  if (key) headers.Authorization = `Bearer ${key}`;
  let response;
  try {
    response = await fetch(path, { method: "POST", headers, body: JSON.stringify(body) });
  } catch (error) {
    throw new ApiError(0, "서버에 연결할 수 없습니다.", null);
  }
  if (!response.ok) {
    let detail = response.statusText;
    try {
      detail = detailText((await response.json()).detail);
    } catch (error) {
      // not JSON: keep the status text
    }
    throw new ApiError(response.status, detail, response.headers.get("Retry-After"));
  }
  return response;
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

let audioUrl = null;
let imageUrl = null;

function playAudio(blob, info) {
  if (audioUrl) URL.revokeObjectURL(audioUrl);
  audioUrl = URL.createObjectURL(blob);
  const audio = $("audio");
  audio.src = audioUrl;
  $("audio-info").textContent = info;
  $("result").hidden = false;
  audio.play().catch(() => {
    // autoplay may be refused; the controls are there to press play
  });
}

function showAlignment(blob) {
  if (imageUrl) URL.revokeObjectURL(imageUrl);
  imageUrl = URL.createObjectURL(blob);
  $("alignment").src = imageUrl;
}

function audioInfo(headers) {
  const seconds = Number(headers.get("X-Sori-Audio-Seconds") || 0).toFixed(2);
  const ok = headers.get("X-Sori-Attention-OK");
  const attention = ok === "true" ? "어텐션 정상"
    : ok === "false" ? "어텐션 실패: 일부 문장에서 정렬이 끝까지 가지 못했습니다" : "";
  const voice = headers.get("X-Sori-Voice") || "";
  return [`${seconds}초`, voice && `목소리 ${voice}`, attention].filter(Boolean).join(" · ");
}

async function loadAlignment(text) {
  try {
    const response = await post("/speak/alignment", { text });
    showAlignment(await response.blob());
  } catch (error) {
    showError(error);
  }
}

async function speak() {
  const text = $("text").value;
  clearMessages();
  $("answer").hidden = true;
  setBusy(true, "합성 중…");
  try {
    // Both requests share one synthesis on the server (identical in-flight requests are merged).
    const alignment = loadAlignment(text);
    const response = await post("/speak", { text });
    playAudio(await response.blob(), audioInfo(response.headers));
    await alignment;
    $("status").textContent = "";
  } catch (error) {
    showError(error);
    $("status").textContent = "";
  } finally {
    setBusy(false, $("status").textContent);
  }
}

function base64ToBlob(data, type) {
  const bytes = Uint8Array.from(atob(data), (ch) => ch.charCodeAt(0));
  return new Blob([bytes], { type });
}

async function ask() {
  const text = $("text").value;
  clearMessages();
  setBusy(true, "생각 중…");
  try {
    const response = await post("/assistant", { text });
    const answer = await response.json();
    $("intent").textContent = answer.intent || "(알아듣지 못함)";
    $("slots").textContent = Object.keys(answer.slots || {}).length ? JSON.stringify(answer.slots) : "—";
    $("reply").textContent = answer.reply === null ? "(할 말 없음)" : answer.reply;
    $("answer").hidden = false;
    if (answer.audio) {
      playAudio(base64ToBlob(answer.audio, "audio/wav"), audioInfo(response.headers));
      await loadAlignment(answer.reply);
    } else {
      $("result").hidden = true;
    }
  } catch (error) {
    showError(error);
  } finally {
    setBusy(false, "");
  }
}

function setUpMicrophone() {
  const Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
  if (!Recognition) return; // typing only
  const mic = $("mic");
  const recognition = new Recognition();
  recognition.lang = "ko-KR";
  recognition.interimResults = true;
  recognition.maxAlternatives = 1;
  let listening = false;
  recognition.onresult = (event) => {
    $("text").value = Array.from(event.results).map((result) => result[0].transcript).join("");
  };
  recognition.onerror = (event) => {
    $("status").textContent = `음성 인식 오류: ${event.error}. 직접 입력해 주세요.`;
  };
  recognition.onend = () => {
    listening = false;
    mic.classList.remove("listening");
    mic.textContent = "🎤 음성 입력";
  };
  mic.addEventListener("click", () => {
    if (listening) {
      recognition.stop();
      return;
    }
    clearMessages();
    listening = true;
    mic.classList.add("listening");
    mic.textContent = "■ 듣는 중… (누르면 멈춤)";
    recognition.start();
  });
  mic.hidden = false;
}

function setUpApiKey() {
  const input = $("api-key");
  input.value = localStorage.getItem(KEY_STORAGE) || "";
  input.addEventListener("change", () => localStorage.setItem(KEY_STORAGE, input.value.trim()));
}

document.addEventListener("DOMContentLoaded", () => {
  $("form").addEventListener("submit", (event) => {
    event.preventDefault();
    speak();
  });
  $("ask").addEventListener("click", ask);
  setUpMicrophone();
  setUpApiKey();
});
