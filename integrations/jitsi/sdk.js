/**
 * Jitsi Meet IFrame API (self-hosted Jitsi and JaaS): client adapter around a
 * `JitsiMeetExternalAPI` instance.
 *
 * The IFrame API's camera and microphone commands are toggles (`toggleVideo`,
 * `toggleAudio`), so the adapter reads the state first (`isVideoMuted`, `isAudioMuted`)
 * and toggles only when it differs, then waits for the `videoMuteStatusChanged` /
 * `audioMuteStatusChanged` event to confirm. Blur is `setBlurredBackground`; messages go
 * over `sendEndpointTextMessage` to each participant of the local participant's room, and
 * answer an error when there is nobody to reach. Who is in the room, from before the adapter
 * was created too, and each one's `ref` (the JWT `context.user.id`) come from `getRoomsInfo()`
 * (`getParticipantsInfo()` on older APIs, without refs), refreshed on `videoConferenceJoined`
 * (a breakout move joins another room); `participantJoined` names only the id, and
 * sometimes `userContext`. Names from the Jitsi handbook (integrations/jitsi/external-api.d.ts).
 * See integrations/sdk-contract.js.
 */

import { OK, attempt, listeners } from "../sdk-common.js";

const CONFIRM_MS = 1500;

function waitForEvent(api, name, predicate, ms) {
  return new Promise((resolve) => {
    const done = (value) => {
      clearTimeout(timer);
      api.removeListener(name, handler);
      resolve(value);
    };
    const handler = (event) => {
      if (predicate(event)) done(true);
    };
    const timer = setTimeout(() => done(false), ms);
    api.addListener(name, handler);
  });
}

/** How long to wait for the IFrame API to say who a participant is (`getRoomsInfo`). */
const LOOKUP_MS = 1500;

/**
 * The JWT user id of each participant of the local participant's room, from `getRoomsInfo()`
 * (Jitsi handbook, iframe-functions.md): `{rooms: [{isMainRoom, id, jid, participants:
 * [{id, jid, role, displayName, userContext: {id}}]}]}`. The room is the one listing `localId`
 * (or the main room while that is unknown).
 *
 * @param {JitsiIFrameApi} api
 * @param {string | null} localId
 * @returns {Promise<Map<string, string | null> | null>} null when the API cannot say
 */
async function roomParticipants(api, localId) {
  if (typeof api.getRoomsInfo !== "function") return null;
  const info = await Promise.race([
    api.getRoomsInfo(),
    new Promise((resolve) => setTimeout(() => resolve(null), LOOKUP_MS)),
  ]);
  const rooms = Array.isArray(info?.rooms) ? info.rooms : null;
  if (!rooms) return null;
  const mine =
    rooms.find((room) => localId && room.participants?.some((p) => p?.id === localId)) ??
    rooms.find((room) => room.isMainRoom) ??
    null;
  const people = new Map();
  for (const p of mine?.participants ?? []) {
    if (!p?.id || p.id === localId) continue;
    const ref = p.userContext?.id;
    people.set(String(p.id), ref === undefined || ref === null || ref === "" ? null : String(ref));
  }
  return people;
}

/**
 * @param {JitsiIFrameApi} api  a `JitsiMeetExternalAPI` instance
 * @param {{platform?: string}} [options]  `platform: "jaas"` when used through JaaS
 */
export function createAdapter(api, options = {}) {
  const events = listeners();
  /** Remote participants of the local participant's room: id → JWT user id (or null). */
  const known = new Map();
  let localId = null;
  let destroyed = false;

  /** Learn who is in the room now (participants there before the adapter, and their refs). */
  async function refresh() {
    try {
      const people = await roomParticipants(api, localId);
      if (people) {
        // Only add and complete: leaves come as participantLeft, and someone who just joined
        // may not be listed yet.
        for (const [id, ref] of people) known.set(id, ref ?? known.get(id) ?? null);
        return;
      }
      // Older IFrame APIs: getParticipantsInfo() lists the room's participants, without refs.
      const listed = /** @type {Array<{participantId?: string, id?: string}>} */ (
        typeof api.getParticipantsInfo === "function" ? api.getParticipantsInfo() : []
      );
      for (const p of Array.isArray(listed) ? listed : []) {
        const id = p?.participantId ?? p?.id;
        if (id && id !== localId && !known.has(String(id))) known.set(String(id), null);
      }
    } catch {
      // The room stays as the events have told it.
    }
  }

  const onJoined = async (event) => {
    const id = event?.id ? String(event.id) : "";
    if (!id) return;
    // participantJoined carries {id, displayName, formattedDisplayName} (some versions add
    // userContext): the ref comes from the event when it has one, else from getRoomsInfo().
    let ref = event?.userContext?.id ?? null;
    known.set(id, ref === null ? known.get(id) ?? null : String(ref));
    if (ref === null) {
      await refresh();
      ref = known.get(id) ?? null;
    }
    if (!destroyed) events.emit("participant-joined", { id, ref: ref === null ? null : String(ref), local: false });
  };
  const onLeft = (event) => {
    const id = event?.id ? String(event.id) : "";
    const ref = known.get(id) ?? null;
    known.delete(id);
    events.emit("participant-left", { id, ref, local: false });
  };
  const onConferenceJoined = (event) => {
    // Joining a room (the first, or another one after a breakout move): a new set of people.
    localId = event?.id ? String(event.id) : null;
    known.clear();
    refresh();
  };
  const onConferenceLeft = () => known.clear();
  api.addListener("participantJoined", onJoined);
  api.addListener("participantLeft", onLeft);
  api.addListener("videoConferenceJoined", onConferenceJoined);
  api.addListener("videoConferenceLeft", onConferenceLeft);
  const ready = refresh();

  /** Set a toggled device: read, toggle only if needed, confirm through the status event. */
  function setToggled(isMuted, command, statusEvent, on) {
    return attempt(async () => {
      const muted = await isMuted();
      if (muted === !on) return OK; // already as asked: a toggle would undo it
      const confirmed = waitForEvent(api, statusEvent, (e) => Boolean(e?.muted) === !on, CONFIRM_MS);
      api.executeCommand(command);
      if (await confirmed) return OK;
      // No event: read the state once more before deciding.
      if ((await isMuted()) === !on) return OK;
      return { ok: false, reason: on ? "denied" : "error" };
    });
  }

  return {
    platform: options.platform ?? "jitsi",
    capabilities: { video: true, audio: true, blur: true, appMessage: true, participantEvents: true },
    setLocalVideo: (on) => setToggled(() => api.isVideoMuted(), "toggleVideo", "videoMuteStatusChanged", Boolean(on)),
    setLocalAudio: (on) => setToggled(() => api.isAudioMuted(), "toggleAudio", "audioMuteStatusChanged", Boolean(on)),
    setBlur: (level) =>
      attempt(() => api.executeCommand("setBlurredBackground", level <= 0 ? "none" : level < 0.5 ? "slight-blur" : "blur")),
    sendAppMessage: (msg) =>
      attempt(async () => {
        await ready;
        if (known.size === 0) await refresh();
        if (known.size === 0) return { ok: false, reason: "error", message: "no other participant in the room" };
        const text = JSON.stringify(msg);
        for (const id of known.keys()) api.executeCommand("sendEndpointTextMessage", id, text);
        return OK;
      }),
    isLocalVideoOn: async () => {
      try {
        return !(await api.isVideoMuted());
      } catch {
        return null;
      }
    },
    on: events.on,
    destroy() {
      destroyed = true;
      api.removeListener("participantJoined", onJoined);
      api.removeListener("participantLeft", onLeft);
      api.removeListener("videoConferenceJoined", onConferenceJoined);
      api.removeListener("videoConferenceLeft", onConferenceLeft);
    },
  };
}
