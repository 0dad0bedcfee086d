// The microphone button uses the browser's speech recognition, which in Chromium sends the user's
// voice to a remote (Google) service, not to Sori. So it is off until the user ticks the box that
// says so; the choice is remembered in localStorage only while the box is ticked.

const CONSENT_STORAGE = "sori.micConsent";
const IDLE_LABEL = "🎤 음성 입력";

const $ = (id) => document.getElementById(id);

export function setUpMicrophone(clearMessages) {
  // Without speech recognition in the browser the page is typing only and the box stays hidden.
  const Recognition = window.SpeechRecognition || window.webkitSpeechRecognition;
  if (!Recognition) return;
  const consent = $("mic-consent");
  const mic = $("mic");
  let recognition = null;
  let listening = false;

  function start() {
    // The recognizer is made only once the user has agreed, and only when first used.
    if (!recognition) {
      recognition = new Recognition();
      recognition.lang = "ko-KR";
      recognition.interimResults = true;
      recognition.maxAlternatives = 1;
      recognition.onresult = (event) => {
        $("text").value = Array.from(event.results).map((result) => result[0].transcript).join("");
      };
      recognition.onerror = (event) => {
        $("status").textContent = `음성 인식 오류: ${event.error}. 직접 입력해 주세요.`;
      };
      recognition.onend = () => {
        listening = false;
        mic.classList.remove("listening");
        mic.textContent = IDLE_LABEL;
      };
    }
    clearMessages();
    listening = true;
    mic.classList.add("listening");
    mic.textContent = "■ 듣는 중… (누르면 멈춤)";
    recognition.start();
  }

  function apply() {
    mic.hidden = !consent.checked;
    if (!consent.checked && listening) recognition.abort();
  }

  consent.checked = localStorage.getItem(CONSENT_STORAGE) === "on";
  consent.addEventListener("change", () => {
    if (consent.checked) localStorage.setItem(CONSENT_STORAGE, "on");
    else localStorage.removeItem(CONSENT_STORAGE);
    apply();
  });
  mic.addEventListener("click", () => {
    if (!consent.checked) return;
    if (listening) recognition.stop();
    else start();
  });
  $("mic-box").hidden = false;
  apply();
}
