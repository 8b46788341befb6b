/**
 * Jitsi Meet IFrame API (self-hosted Jitsi and JaaS): client adapter around a
 * `JitsiMeetExternalAPI` instance.
 *
 * The IFrame API's camera and microphone commands are toggles (`toggleVideo`,
 * `toggleAudio`), so the adapter reads the state first (`isVideoMuted`, `isAudioMuted`)
 * and toggles only when it differs, then waits for the `videoMuteStatusChanged` /
 * `audioMuteStatusChanged` event to confirm. Blur is `setBlurredBackground`; messages go
 * over `sendEndpointTextMessage` to each known participant. The participant id of events is
 * Jitsi's; `ref` is the JWT user id when Jitsi reports one (`participantJoined` does not
 * always). See integrations/sdk-contract.js.
 */

import { OK, attempt, listeners } from "../sdk-common.js";

const CONFIRM_MS = 1500;

function waitForEvent(api, name, predicate, ms) {
  return new Promise((resolve) => {
    const done = (value) => {
      clearTimeout(timer);
      api.removeListener(name, handler);
      resolve(value);
    };
    const handler = (event) => {
      if (predicate(event)) done(true);
    };
    const timer = setTimeout(() => done(false), ms);
    api.addListener(name, handler);
  });
}

/**
 * @param {any} api  a `JitsiMeetExternalAPI` instance
 * @param {{platform?: string}} [options]  `platform: "jaas"` when used through JaaS
 */
export function createAdapter(api, options = {}) {
  const events = listeners();
  const known = new Set();
  const toParticipant = (event) => ({
    id: String(event?.id ?? ""),
    ref: event?.user?.id ?? event?.userId ?? null,
    local: false,
  });
  const onJoined = (event) => {
    if (event?.id) known.add(String(event.id));
    events.emit("participant-joined", toParticipant(event));
  };
  const onLeft = (event) => {
    if (event?.id) known.delete(String(event.id));
    events.emit("participant-left", toParticipant(event));
  };
  api.addListener("participantJoined", onJoined);
  api.addListener("participantLeft", onLeft);

  /** Set a toggled device: read, toggle only if needed, confirm through the status event. */
  function setToggled(isMuted, command, statusEvent, on) {
    return attempt(async () => {
      const muted = await isMuted();
      if (muted === !on) return OK; // already as asked: a toggle would undo it
      const confirmed = waitForEvent(api, statusEvent, (e) => Boolean(e?.muted) === !on, CONFIRM_MS);
      api.executeCommand(command);
      if (await confirmed) return OK;
      // No event: read the state once more before deciding.
      if ((await isMuted()) === !on) return OK;
      return { ok: false, reason: on ? "denied" : "error" };
    });
  }

  return {
    platform: options.platform ?? "jitsi",
    capabilities: { video: true, audio: true, blur: true, appMessage: true, participantEvents: true },
    setLocalVideo: (on) => setToggled(() => api.isVideoMuted(), "toggleVideo", "videoMuteStatusChanged", Boolean(on)),
    setLocalAudio: (on) => setToggled(() => api.isAudioMuted(), "toggleAudio", "audioMuteStatusChanged", Boolean(on)),
    setBlur: (level) =>
      attempt(() => api.executeCommand("setBlurredBackground", level <= 0 ? "none" : level < 0.5 ? "slight-blur" : "blur")),
    sendAppMessage: (msg) =>
      attempt(() => {
        const text = JSON.stringify(msg);
        for (const id of known) api.executeCommand("sendEndpointTextMessage", id, text);
      }),
    isLocalVideoOn: async () => {
      try {
        return !(await api.isVideoMuted());
      } catch {
        return null;
      }
    },
    on: events.on,
    destroy() {
      api.removeListener("participantJoined", onJoined);
      api.removeListener("participantLeft", onLeft);
    },
  };
}
