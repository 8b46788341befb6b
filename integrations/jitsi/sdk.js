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
 * [{id, jid, role, displayName, userContext: {id}}]}]}`. The local participant's room is the
 * one listing `localId`, else the one whose own `jid` ends in a resource (the handbook's
 * `room_name@conference.jitsi/aaaaaa`: our nick, which is our participant id), else the main
 * room; the local participant is left out.
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
  const nick = (room) => (typeof room?.jid === "string" && room.jid.includes("/") ? room.jid.split("/").pop() : null);
  const mine =
    rooms.find((room) => localId && room.participants?.some((p) => p?.id === localId)) ??
    rooms.find((room) => nick(room)) ??
    rooms.find((room) => room.isMainRoom) ??
    null;
  const self = localId ?? nick(mine);
  const people = new Map();
  for (const p of mine?.participants ?? []) {
    if (!p?.id || p.id === self) continue;
    const ref = p.userContext?.id;
    people.set(String(p.id), ref === undefined || ref === null || ref === "" ? null : String(ref));
  }
  return people;
}

/**
 * @param {JitsiIFrameApi} api  a `JitsiMeetExternalAPI` instance
 * @param {{platform?: string}} [options]  `platform: "jaas"` when used through JaaS
 * @returns {import("../sdk-contract.js").PlatformClientAdapter}
 */
export function createAdapter(api, options = {}) {
  const events = listeners();
  /** Remote participants of the local participant's room: id → JWT user id (or null). */
  const known = new Map();
  /** Who left this room: a getRoomsInfo() answer that was on its way must not bring them back. */
  const departed = new Set();
  /** Every ref learnt in this room, kept for the events of those who already left. */
  const learnt = new Map();
  /** Joins still looking up their ref: a leave waits for its join to be told first. */
  const joining = new Map();
  let localId = null;
  let generation = 0; // one per room joined: answers about an earlier room are dropped
  let destroyed = false;

  /** Learn who is in the room now (participants there before the adapter, and their refs). */
  async function refresh() {
    const asked = generation;
    try {
      const people = await roomParticipants(api, localId);
      if (asked !== generation) return;
      if (people) {
        // Only add and complete: leaves come as participantLeft, and someone who just joined
        // may not be listed yet.
        for (const [id, ref] of people) {
          if (ref !== null) learnt.set(id, ref);
          if (!departed.has(id)) known.set(id, ref ?? known.get(id) ?? null);
        }
        return;
      }
      // Older IFrame APIs: getParticipantsInfo() lists the room's participants, without refs.
      const listed = /** @type {Array<{participantId?: string, id?: string}>} */ (
        typeof api.getParticipantsInfo === "function" ? api.getParticipantsInfo() : []
      );
      for (const p of Array.isArray(listed) ? listed : []) {
        const id = String(p?.participantId ?? p?.id ?? "");
        if (id && id !== localId && !departed.has(id) && !known.has(id)) known.set(id, null);
      }
    } catch {
      // The room stays as the events have told it.
    }
  }

  const onJoined = (event) => {
    const id = event?.id ? String(event.id) : "";
    if (!id) return;
    departed.delete(id);
    // participantJoined carries {id, displayName, formattedDisplayName} (some versions add
    // userContext): the ref comes from the event when it has one, else from getRoomsInfo().
    const given = event?.userContext?.id;
    if (given !== undefined && given !== null) learnt.set(id, String(given));
    known.set(id, learnt.get(id) ?? known.get(id) ?? null);
    const told = (async () => {
      if (!learnt.has(id)) await refresh();
      const ref = learnt.get(id) ?? null;
      if (!destroyed) events.emit("participant-joined", { id, ref, local: false });
      return ref;
    })();
    joining.set(id, told);
    told.finally(() => joining.get(id) === told && joining.delete(id));
  };
  const onLeft = async (event) => {
    const id = event?.id ? String(event.id) : "";
    const ref = known.get(id) ?? null;
    known.delete(id);
    departed.add(id);
    const pending = joining.get(id);
    const told = pending ? await pending : null;
    if (!destroyed) events.emit("participant-left", { id, ref: learnt.get(id) ?? ref ?? told ?? null, local: false });
  };
  const onConferenceJoined = (event) => {
    // Joining a room (the first, or another one after a breakout move): a new set of people.
    generation += 1;
    localId = event?.id ? String(event.id) : null;
    known.clear();
    departed.clear();
    learnt.clear();
    refresh();
  };
  const onConferenceLeft = () => {
    generation += 1;
    known.clear();
  };
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
