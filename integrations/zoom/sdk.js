/**
 * Zoom Apps SDK (@zoom/appssdk, the in-meeting side panel): client adapter around `zoomSdk`
 * after `zoomSdk.config({capabilities})` resolved.
 *
 * Every call works only if it is listed in the app's capabilities (in the Zoom Marketplace
 * app and in `config`) and the client has added the app; others answer `unsupported`.
 * Camera and microphone through `setVideoState` / `setAudioState`; state through
 * `getVideoState`. Blur through `setVirtualBackground({blur: true})` and
 * `removeVirtualBackground()`; Zoom asks the user to allow each (error 10017 when they do not,
 * answered `denied`). There is no meeting-wide data channel, so messages are `unsupported`
 * (the service's socket carries the signals).
 * Participant events come from `onParticipantChange` (hosts and co-hosts receive them);
 * Zoom gives no `customer_key` there, so `ref` is null. See integrations/sdk-contract.js.
 */

import { OK, UNSUPPORTED, attempt, listeners } from "../sdk-common.js";

/** The capabilities to pass to `zoomSdk.config` for everything this adapter can do. */
export const ZOOM_CAPABILITIES = Object.freeze(
  /** @type {const} */ ([
    "getVideoState",
    "setVideoState",
    "setAudioState",
    "setVirtualBackground",
    "removeVirtualBackground",
    "onParticipantChange",
  ]),
);

/** The Apps SDK's error code when the user does not allow an action it asked them about. */
const USER_DENIED = 10017;

/**
 * @param {typeof import("@zoom/appssdk").default} zoomSdk  the configured Zoom Apps SDK object
 * @param {{capabilities?: import("@zoom/appssdk").Apis[], unsupportedApis?: string[]}} [config]  what `config` was
 *        asked for, and the `unsupportedApis` its response listed
 * @returns {import("../sdk-contract.js").PlatformClientAdapter}
 */
export function createAdapter(zoomSdk, config = {}) {
  const events = listeners();
  const asked = new Set(config.capabilities ?? ZOOM_CAPABILITIES);
  const refused = new Set(config.unsupportedApis ?? []);
  /** @param {import("@zoom/appssdk").Apis} api */
  const has = (api) => asked.has(api) && !refused.has(api) && typeof zoomSdk?.[api] === "function";

  /** @param {import("@zoom/appssdk").Apis} api @param {...any} args */
  function call(api, ...args) {
    if (!has(api)) return Promise.resolve(UNSUPPORTED);
    return attempt(async () => {
      try {
        await zoomSdk[api](...args);
        return OK;
      } catch (error) {
        if (error?.code === USER_DENIED || String(error?.code) === String(USER_DENIED)) {
          return { ok: false, reason: "denied", message: String(error?.message ?? "").slice(0, 200) };
        }
        // The SDK rejects APIs missing from the app's capabilities or unavailable here.
        if (/not supported|unsupported|not in the list of capabilities|capabilit/i.test(String(error?.message ?? error))) {
          return { ok: false, reason: "unsupported" };
        }
        throw error;
      }
    });
  }

  const onChange = (event) => {
    for (const p of event?.participants ?? []) {
      const participant = { id: String(p.participantUUID ?? p.participantId ?? ""), ref: null, local: false };
      if (p.status === "join") events.emit("participant-joined", participant);
      else if (p.status === "leave") events.emit("participant-left", participant);
    }
  };
  const participantEvents = has("onParticipantChange") && typeof zoomSdk.addEventListener === "function";
  if (participantEvents) zoomSdk.addEventListener("onParticipantChange", onChange);

  return {
    platform: "zoom",
    capabilities: {
      video: has("setVideoState"),
      audio: has("setAudioState"),
      blur: has("setVirtualBackground") && has("removeVirtualBackground"),
      appMessage: false,
      participantEvents,
    },
    setLocalVideo: (on) => call("setVideoState", { video: Boolean(on) }),
    setLocalAudio: (on) => call("setAudioState", { audio: Boolean(on) }),
    setBlur: (level) =>
      level > 0 ? call("setVirtualBackground", { blur: true }) : call("removeVirtualBackground"),
    sendAppMessage: async () => UNSUPPORTED,
    isLocalVideoOn: async () => {
      if (!has("getVideoState")) return null;
      try {
        const state = await zoomSdk.getVideoState();
        return typeof state?.video === "boolean" ? state.video : null;
      } catch {
        return null;
      }
    },
    on: events.on,
    destroy() {
      if (participantEvents && typeof zoomSdk.removeEventListener === "function") {
        zoomSdk.removeEventListener("onParticipantChange", onChange);
      }
    },
  };
}
