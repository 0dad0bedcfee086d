// Announcements: the page listens to GET /assistant/events (with the API key, so through fetch:
// EventSource cannot send headers), shows each finished timer and plays its audio. The connection
// is opened again, after a pause, whenever it ends (a server restart, a wrong key fixed later).
//
// Read-only hook: window.soriAnnouncements = {connected, received: [{id, reply, due_at,
// receivedAt, played}]}; connected turns true once the server has subscribed the page (its
// opening comment arrived), played once the audio has started playing.

import { serverSentEvents } from "./api.js";

const RETRY_MS = 3000;

export function setUpAnnouncements(apiKey) {
  const state = { connected: false, received: [] };
  window.soriAnnouncements = state;
  const list = document.getElementById("announcement-list");
  const box = document.getElementById("announcements");
  const audio = document.getElementById("announcement-audio");

  function show(data, receivedAt) {
    const entry = { id: data.id, reply: data.reply, due_at: data.due_at, receivedAt, played: false };
    state.received.push(entry);
    const item = document.createElement("li");
    const time = new Date(data.due_at).toLocaleTimeString("ko-KR");
    item.textContent = `${time} ${data.reply}`;
    item.dataset.timer = String(data.id);
    list.prepend(item);
    box.hidden = false;
    if (!data.audio) return;
    audio.src = `data:audio/wav;base64,${data.audio}`;
    audio.play().then(() => { entry.played = true; }).catch(() => {
      // autoplay refused (no interaction with the page yet): the controls are there to press play
    });
  }

  async function listen() {
    for (;;) {
      try {
        const headers = {};
        const key = apiKey();
        if (key) headers.Authorization = `Bearer ${key}`;
        const response = await fetch("/assistant/events", { headers });
        if (response.ok) {
          const opened = () => { state.connected = true; };
          for await (const { event, data, receivedAt } of serverSentEvents(response, opened)) {
            if (event === "timer-finished") show(data, receivedAt);
          }
        }
      } catch (error) {
        // the server went away: try again below
      }
      state.connected = false;
      await new Promise((resolve) => setTimeout(resolve, RETRY_MS));
    }
  }

  listen();
}
