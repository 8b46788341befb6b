/**
 * Helpers shared by every platform client adapter (integrations/<platform>/sdk.js): the
 * result values, turning a thrown SDK error into `denied` or `error`, and a tiny listener set
 * for participant events. Adapters never throw; these make that easy to keep.
 */

export const OK = Object.freeze({ ok: true });
export const UNSUPPORTED = Object.freeze({ ok: false, reason: "unsupported" });
const DENIED_NAMES = new Set(["NotAllowedError", "PermissionDeniedError", "SecurityError"]);

export function failure(error) {
  const name = error && typeof error === "object" ? error.name : undefined;
  const text = String((error && error.message) || error || "");
  const denied = DENIED_NAMES.has(name) || /permission|denied|not allowed/i.test(text);
  return { ok: false, reason: denied ? "denied" : "error", message: text.slice(0, 200) };
}

export async function attempt(command) {
  try {
    const outcome = await command();
    return outcome && typeof outcome === "object" && "ok" in outcome ? outcome : OK;
  } catch (error) {
    return failure(error);
  }
}

export function listeners() {
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
