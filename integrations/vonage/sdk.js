/**
 * Vonage Video (OpenTok, @vonage/client-sdk-video / opentok.js): client adapter around a
 * connected `Session` and the client's `Publisher`.
 *
 * Camera and microphone through `publisher.publishVideo` / `publishAudio`; blur through
 * `publisher.applyVideoFilter({type: "backgroundBlur"})` where the browser supports media
 * processors; messages through `session.signal({type: "comfort"})`. A connection's `data`
 * (set when the vendor creates the client's token) is our `platform_ref`.
 * See integrations/sdk-contract.js.
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

/**
 * @param {{session: any, publisher: any, OT?: any}} sdk
 */
export function createAdapter({ session, publisher, OT = globalThis.OT }) {
  const events = listeners();
  let videoOn = null;
  const toParticipant = (connection, local) => ({
    id: String(connection?.connectionId ?? ""),
    ref: connection?.data ? String(connection.data) : null,
    local,
  });
  const isLocal = (connection) => Boolean(connection && session.connection && connection.connectionId === session.connection.connectionId);
  const onCreated = (event) => events.emit("participant-joined", toParticipant(event?.connection, isLocal(event?.connection)));
  const onDestroyed = (event) => events.emit("participant-left", toParticipant(event?.connection, isLocal(event?.connection)));
  session.on("connectionCreated", onCreated);
  session.on("connectionDestroyed", onDestroyed);
  const blurSupported = typeof publisher.applyVideoFilter === "function" && (OT?.hasMediaProcessorSupport?.() ?? false);

  return {
    platform: "vonage",
    capabilities: { video: true, audio: true, blur: blurSupported, appMessage: true, participantEvents: true },
    setLocalVideo: (on) =>
      attempt(() => {
        publisher.publishVideo(Boolean(on));
        videoOn = Boolean(on);
      }),
    setLocalAudio: (on) => attempt(() => publisher.publishAudio(Boolean(on))),
    async setBlur(level) {
      if (!blurSupported) return UNSUPPORTED;
      return attempt(() =>
        level > 0
          ? publisher.applyVideoFilter({ type: "backgroundBlur", blurStrength: level < 0.5 ? "low" : "high" })
          : publisher.clearVideoFilter(),
      );
    },
    sendAppMessage: (msg) =>
      attempt(
        () =>
          new Promise((resolve, reject) =>
            session.signal({ type: "comfort", data: JSON.stringify(msg) }, (error) => (error ? reject(error) : resolve())),
          ),
      ),
    isLocalVideoOn: async () => {
      const hasVideo = publisher.stream?.hasVideo;
      return typeof hasVideo === "boolean" ? hasVideo : videoOn;
    },
    on: events.on,
    destroy() {
      session.off("connectionCreated", onCreated);
      session.off("connectionDestroyed", onDestroyed);
    },
  };
}
