/**
 * LiveKit (livekit-client): client adapter around a connected `Room`.
 *
 * Camera and microphone through `room.localParticipant.setCameraEnabled` /
 * `setMicrophoneEnabled`; blur through a track processor the vendor supplies (e.g.
 * `BackgroundBlur` from @livekit/track-processors) as `options.blurProcessor(level)`;
 * messages through `publishData` on topic `comfort`. A participant's `identity` is our
 * `platform_ref`. See integrations/sdk-contract.js.
 */

import { OK, UNSUPPORTED, attempt, listeners } from "../sdk-common.js";

/**
 * @param {import("livekit-client").Room} room  a livekit-client `Room`
 * @param {{blurProcessor?: (level: number) => any, topic?: string}} [options]
 * @returns {import("../sdk-contract.js").PlatformClientAdapter}
 */
export function createAdapter(room, options = {}) {
  const events = listeners();
  const toParticipant = (participant) => ({
    id: String(participant?.sid ?? ""),
    ref: participant?.identity ? String(participant.identity) : null,
    local: false,
  });
  const onConnected = (participant) => events.emit("participant-joined", toParticipant(participant));
  const onDisconnected = (participant) => events.emit("participant-left", toParticipant(participant));
  room.on("participantConnected", onConnected);
  room.on("participantDisconnected", onDisconnected);
  const topic = options.topic ?? "comfort";

  function cameraTrack() {
    // Track.Source.Camera's value; the adapter cannot import livekit-client's enum (the
    // vendor's page owns that bundle).
    const camera = /** @type {import("livekit-client").Track.Source} */ ("camera");
    return room.localParticipant?.getTrackPublication?.(camera)?.track ?? null;
  }

  return {
    platform: "livekit",
    capabilities: {
      video: true,
      audio: true,
      blur: typeof options.blurProcessor === "function",
      appMessage: true,
      participantEvents: true,
    },
    setLocalVideo: (on) => attempt(() => room.localParticipant.setCameraEnabled(Boolean(on))),
    setLocalAudio: (on) => attempt(() => room.localParticipant.setMicrophoneEnabled(Boolean(on))),
    async setBlur(level) {
      if (typeof options.blurProcessor !== "function") return UNSUPPORTED;
      return attempt(async () => {
        const track = cameraTrack();
        if (!track) return { ok: false, reason: "error", message: "no camera track" };
        if (level > 0) await track.setProcessor(options.blurProcessor(level));
        else await track.stopProcessor();
        return OK;
      });
    },
    sendAppMessage: (msg) =>
      attempt(() =>
        room.localParticipant.publishData(new TextEncoder().encode(JSON.stringify(msg)), { reliable: true, topic }),
      ),
    isLocalVideoOn: async () => {
      const enabled = room.localParticipant?.isCameraEnabled;
      return typeof enabled === "boolean" ? enabled : null;
    },
    on: events.on,
    destroy() {
      room.off("participantConnected", onConnected);
      room.off("participantDisconnected", onDisconnected);
    },
  };
}
