/**
 * Daily (daily-js): client adapter around a call object or Prebuilt call frame.
 *
 * Commands: `setLocalVideo`, `setLocalAudio`, `updateInputSettings` (background-blur
 * processor), `sendAppMessage(data, "*")`; events `participant-joined`/`participant-left`
 * (the participant's `user_id` is our `platform_ref`). See integrations/sdk-contract.js.
 */

import { OK, attempt, listeners } from "../sdk-common.js";

/**
 * @param {import("@daily-co/daily-js").DailyCall} call  a `DailyIframe.createFrame()` /
 *        `createCallObject()` instance, joined or joining
 * @returns {import("../sdk-contract.js").PlatformClientAdapter}
 */
export function createAdapter(call) {
  const events = listeners();
  const toParticipant = (participant) => ({
    id: String(participant?.session_id ?? ""),
    ref: participant?.user_id ? String(participant.user_id) : null,
    local: Boolean(participant?.local),
  });
  const onJoined = (event) => events.emit("participant-joined", toParticipant(event?.participant));
  const onLeft = (event) => events.emit("participant-left", toParticipant(event?.participant));
  call.on("participant-joined", onJoined);
  call.on("participant-left", onLeft);

  async function setAndCheck(set, get, on) {
    return attempt(async () => {
      await set(on);
      // daily-js applies the change asynchronously; a camera the user denied stays off.
      if (on && get() === false) {
        await new Promise((resolve) => setTimeout(resolve, 250));
        if (get() === false) return { ok: false, reason: "denied" };
      }
      return OK;
    });
  }

  return {
    platform: "daily",
    capabilities: { video: true, audio: true, blur: true, appMessage: true, participantEvents: true },
    setLocalVideo: (on) => setAndCheck((v) => call.setLocalVideo(v), () => call.localVideo(), Boolean(on)),
    setLocalAudio: (on) => setAndCheck((v) => call.setLocalAudio(v), () => call.localAudio(), Boolean(on)),
    setBlur: (level) =>
      attempt(() =>
        call.updateInputSettings({
          video: {
            processor:
              level > 0
                ? { type: "background-blur", config: { strength: Math.min(1, Math.max(0.1, level)) } }
                : { type: "none" },
          },
        }),
      ),
    sendAppMessage: (msg) => attempt(() => call.sendAppMessage(msg, "*")),
    isLocalVideoOn: async () => {
      try {
        return Boolean(call.localVideo());
      } catch {
        return null;
      }
    },
    on: events.on,
    destroy() {
      call.off("participant-joined", onJoined);
      call.off("participant-left", onLeft);
    },
  };
}

/**
 * Prebuilt's sidebar custom integration showing the client widget page
 * (`/embed/client?token=…`) beside the call: pass to `callFrame.setCustomIntegrations(…)`
 * and then `callFrame.startCustomIntegrations(["comfort"])`.
 *
 * @param {{src: string, label?: string, iconURL?: string}} options
 */
export function comfortSidebarIntegration({ src, label = "Comfort", iconURL }) {
  return {
    comfort: {
      controlledBy: "*",
      label,
      ...(iconURL ? { iconURL } : {}),
      location: "sidebar",
      shared: false,
      src,
      sandbox: "allow-scripts allow-same-origin allow-forms",
    },
  };
}
