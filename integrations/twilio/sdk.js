/**
 * Twilio Video (twilio-video): client adapter around a connected `Room`.
 *
 * Camera and microphone by disabling and enabling the local tracks (Twilio's mute: the
 * other side sees the track disabled); blur through a processor the vendor supplies (e.g.
 * `GaussianBlurBackgroundProcessor` from @twilio/video-processors) as
 * `options.blurProcessor(level)`; messages through a published `LocalDataTrack` given as
 * `options.dataTrack`. A participant's `identity` is our `platform_ref`.
 * See integrations/sdk-contract.js.
 */

import { OK, UNSUPPORTED, attempt, listeners } from "../sdk-common.js";

function localTracks(room, kind) {
  const publications = room.localParticipant?.[kind === "video" ? "videoTracks" : "audioTracks"];
  return publications ? Array.from(publications.values(), (p) => p.track).filter(Boolean) : [];
}

/**
 * @param {import("twilio-video").Room} room  a twilio-video `Room`
 * @param {{blurProcessor?: (level: number) => any, dataTrack?: import("twilio-video").LocalDataTrack}} [options]
 * @returns {import("../sdk-contract.js").PlatformClientAdapter}
 */
export function createAdapter(room, options = {}) {
  const events = listeners();
  let processor = null;
  const toParticipant = (participant) => ({
    id: String(participant?.sid ?? ""),
    ref: participant?.identity ? String(participant.identity) : null,
    local: false,
  });
  const onConnected = (participant) => events.emit("participant-joined", toParticipant(participant));
  const onDisconnected = (participant) => events.emit("participant-left", toParticipant(participant));
  room.on("participantConnected", onConnected);
  room.on("participantDisconnected", onDisconnected);

  function setTracks(kind, on) {
    return attempt(() => {
      const tracks = localTracks(room, kind);
      if (tracks.length === 0) return { ok: false, reason: "error", message: `no local ${kind} track` };
      for (const track of tracks) {
        if (on) track.enable();
        else track.disable();
      }
      return OK;
    });
  }

  return {
    platform: "twilio",
    capabilities: {
      video: true,
      audio: true,
      blur: typeof options.blurProcessor === "function",
      appMessage: Boolean(options.dataTrack),
      participantEvents: true,
    },
    setLocalVideo: (on) => setTracks("video", Boolean(on)),
    setLocalAudio: (on) => setTracks("audio", Boolean(on)),
    async setBlur(level) {
      if (typeof options.blurProcessor !== "function") return UNSUPPORTED;
      return attempt(async () => {
        const [track] = localTracks(room, "video");
        if (!track) return { ok: false, reason: "error", message: "no local video track" };
        if (processor) {
          track.removeProcessor(processor);
          processor = null;
        }
        if (level > 0) {
          processor = await options.blurProcessor(level);
          track.addProcessor(processor);
        }
        return OK;
      });
    },
    async sendAppMessage(msg) {
      if (!options.dataTrack) return UNSUPPORTED;
      return attempt(() => options.dataTrack.send(JSON.stringify(msg)));
    },
    isLocalVideoOn: async () => {
      const tracks = localTracks(room, "video");
      return tracks.length ? tracks.some((t) => t.isEnabled) : null;
    },
    on: events.on,
    destroy() {
      room.removeListener("participantConnected", onConnected);
      room.removeListener("participantDisconnected", onDisconnected);
    },
  };
}
