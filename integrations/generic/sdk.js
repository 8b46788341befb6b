/**
 * Generic adapter for platforms without a client SDK (Doxy.me, any iframe): it can change
 * nothing in the call, so every command answers `unsupported` and the privacy controller
 * (integrations/sdk-contract.js) falls back to its overlay. See integrations/sdk-contract.js.
 */

import { UNSUPPORTED, listeners } from "../sdk-common.js";

/**
 * @param {unknown} [_sdk]  ignored
 * @returns {import("../sdk-contract.js").PlatformClientAdapter}
 */
export function createAdapter(_sdk) {
  const events = listeners();
  return {
    platform: "generic",
    capabilities: { video: false, audio: false, blur: false, appMessage: false, participantEvents: false },
    setLocalVideo: async () => UNSUPPORTED,
    setLocalAudio: async () => UNSUPPORTED,
    setBlur: async () => UNSUPPORTED,
    sendAppMessage: async () => UNSUPPORTED,
    isLocalVideoOn: async () => null,
    on: events.on,
    destroy() {},
  };
}
