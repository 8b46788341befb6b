/**
 * Whereby Embedded: client adapter around the `<whereby-embed>` element.
 *
 * Camera and microphone through the element's `toggleCamera(enabled)` /
 * `toggleMicrophone(enabled)` commands (explicit state, so no read-then-toggle is needed);
 * state from its `camera_toggle` events; participant events from `participant_join` /
 * `participant_leave` (the participant's `externalId`, set with the `externalId` attribute,
 * is our `platform_ref`; the element's events also carry `metadata`). The element has no
 * runtime blur or data-message command: those are `unsupported` (the `cameraEffect` attribute
 * sets a default blur). A `deny_device_permission` event with `detail.denied` true makes the
 * next camera command answer `denied`; one with `denied` false (or `grant_device_permission`)
 * clears it. Names and details from @whereby.com/browser-sdk's `WherebyEmbedElementEventMap`.
 * See integrations/sdk-contract.js.
 */

import { OK, UNSUPPORTED, attempt, listeners } from "../sdk-common.js";

/** @typedef {import("@whereby.com/browser-sdk/embed").WherebyEmbedElement} WherebyEmbed */
/** @typedef {Parameters<WherebyEmbed["addEventListener"]>[0]} WherebyEventName */

/**
 * @param {WherebyEmbed} element  the `<whereby-embed>`
 * @returns {import("../sdk-contract.js").PlatformClientAdapter}
 */
export function createAdapter(element) {
  const events = listeners();
  let cameraOn = element.getAttribute?.("video") === "off" ? false : null;
  let deviceDenied = false;
  const toParticipant = (detail) => {
    const p = detail?.participant ?? detail ?? {};
    return { id: String(p.id ?? p.participantId ?? ""), ref: p.externalId ?? p.metadata ?? null, local: false };
  };
  /** @type {Array<[WherebyEventName, (event: any) => void]>} */
  const handlers = [
    ["camera_toggle", (event) => {
      cameraOn = Boolean(event?.detail?.enabled);
    }],
    ["deny_device_permission", (event) => {
      deviceDenied = event?.detail?.denied === true;
    }],
    ["grant_device_permission", (event) => {
      if (event?.detail?.granted === true) deviceDenied = false;
    }],
    ["participant_join", (event) => events.emit("participant-joined", toParticipant(event?.detail))],
    ["participant_leave", (event) => events.emit("participant-left", toParticipant(event?.detail))],
  ];
  for (const [name, fn] of handlers) element.addEventListener(name, fn);

  function toggle(command, on) {
    if (typeof element[command] !== "function") return Promise.resolve(UNSUPPORTED);
    return attempt(async () => {
      if (on && deviceDenied) return { ok: false, reason: "denied" };
      await element[command](Boolean(on));
      if (command === "toggleCamera") cameraOn = Boolean(on);
      return OK;
    });
  }

  return {
    platform: "whereby",
    capabilities: {
      video: typeof element.toggleCamera === "function",
      audio: typeof element.toggleMicrophone === "function",
      blur: false,
      appMessage: false,
      participantEvents: true,
    },
    setLocalVideo: (on) => toggle("toggleCamera", on),
    setLocalAudio: (on) => toggle("toggleMicrophone", on),
    setBlur: async () => UNSUPPORTED,
    sendAppMessage: async () => UNSUPPORTED,
    isLocalVideoOn: async () => cameraOn,
    on: events.on,
    destroy() {
      for (const [name, fn] of handlers) element.removeEventListener(name, fn);
    },
  };
}
