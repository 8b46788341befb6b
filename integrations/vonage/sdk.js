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

import { UNSUPPORTED, attempt, listeners } from "../sdk-common.js";

/**
 * @param {{session: import("@vonage/client-sdk-video").Session,
 *   publisher: import("@vonage/client-sdk-video").Publisher,
 *   OT?: {hasMediaProcessorSupport?: typeof import("@vonage/client-sdk-video").hasMediaProcessorSupport}}} sdk
 * @returns {import("../sdk-contract.js").PlatformClientAdapter}
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
          new Promise(
            /** @param {(value?: unknown) => void} resolve @param {(error: unknown) => void} reject */
            (resolve, reject) =>
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
