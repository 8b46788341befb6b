/**
 * Generic adapter for platforms without a client SDK (Doxy.me, any iframe): it can change
 * nothing in the call, so every command answers `unsupported` and the privacy controller
 * (integrations/sdk-contract.js) falls back to its overlay. See integrations/sdk-contract.js.
 */

// --- shared by every adapter (kept inline so each module stands alone) -----------------
const OK = Object.freeze({ ok: true });
const UNSUPPORTED = Object.freeze({ ok: false, reason: "unsupported" });
const DENIED_NAMES = new Set(["NotAllowedError", "PermissionDeniedError", "SecurityError"]);

function failure(error) {
  const name = error && typeof error === "object" ? error.name : undefined;
  const text = String((error && error.message) || error || "");
  const denied = DENIED_NAMES.has(name) || /permission|denied|not allowed/i.test(text);
  return { ok: false, reason: denied ? "denied" : "error", message: text.slice(0, 200) };
}

async function attempt(command) {
  try {
    const outcome = await command();
    return outcome && typeof outcome === "object" && "ok" in outcome ? outcome : OK;
  } catch (error) {
    return failure(error);
  }
}

function listeners() {
  const sets = { "participant-joined": new Set(), "participant-left": new Set() };
  return {
    on(event, fn) {
      const set = sets[event];
      if (!set || typeof fn !== "function") return () => {};
      set.add(fn);
      return () => set.delete(fn);
    },
    emit(event, participant) {
      for (const fn of sets[event]) {
        try {
          fn(participant);
        } catch (error) {
          queueMicrotask(() => { throw error; });
        }
      }
    },
  };
}
// ----------------------------------------------------------------------------------------

/** @param {unknown} [_sdk]  ignored */
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
