// Small fakes of each platform SDK's documented client surface (commands, events, quirks),
// recording what the adapters ask of them. `make(platform, opts)` returns
// {adapterArgs, fake}: pass adapterArgs to createAdapter, inspect and drive `fake`.
// The event and command names the Jitsi and Whereby fakes dispatch are typed with the SDKs'
// own names (checked by `npm run typecheck`, integrations/tsconfig.json).
/** @typedef {Parameters<import("@whereby.com/browser-sdk/embed").WherebyEmbedElement["addEventListener"]>[0]} WherebyEventName */
/** @typedef {Parameters<JitsiIFrameApi["addListener"]>[0]} JitsiEventName */
/** @typedef {Parameters<JitsiIFrameApi["executeCommand"]>[0]} JitsiCommandName */

class Emitter {
  constructor() {
    this.handlers = new Map();
  }
  add(name, fn) {
    if (!this.handlers.has(name)) this.handlers.set(name, new Set());
    this.handlers.get(name).add(fn);
  }
  remove(name, fn) {
    this.handlers.get(name)?.delete(fn);
  }
  emit(name, ...args) {
    for (const fn of [...(this.handlers.get(name) ?? [])]) fn(...args);
  }
  count(name) {
    return this.handlers.get(name)?.size ?? 0;
  }
}

const denied = () => new DOMException("Permission denied", "NotAllowedError");
const tick = () => new Promise((resolve) => setTimeout(resolve, 10));

function fakeDaily(opts) {
  const e = new Emitter();
  const fake = {
    calls: [],
    video: opts.videoOn ?? true,
    audio: true,
    broken: false,
    denyCamera: Boolean(opts.denyCamera),
    joined(participant) { e.emit("participant-joined", { action: "participant-joined", participant }); },
    left(participant) { e.emit("participant-left", { action: "participant-left", participant }); },
    listenerCount: (n) => e.count(n),
  };
  const guard = (name) => {
    fake.calls.push(name);
    if (fake.broken) throw new Error("boom");
  };
  const call = {
    setLocalVideo(v) { guard("setLocalVideo"); if (!(v && fake.denyCamera)) fake.video = v; return call; },
    localVideo() { return fake.video; },
    setLocalAudio(v) { guard("setLocalAudio"); fake.audio = v; return call; },
    localAudio() { return fake.audio; },
    async updateInputSettings(settings) { guard("updateInputSettings"); fake.inputSettings = settings; return settings; },
    sendAppMessage(data, to) { guard("sendAppMessage"); fake.sent = { data, to }; return call; },
    on(name, fn) { e.add(name, fn); return call; },
    off(name, fn) { e.remove(name, fn); return call; },
  };
  return { adapterArgs: [call], fake };
}

function fakeJitsi(opts) {
  // The IFrame API: toggleVideo/toggleAudio flip the state, then report it by event;
  // participantJoined carries {id, displayName, formattedDisplayName} only (the JWT id is
  // in getRoomsInfo()'s userContext); participants may be there before the adapter.
  const e = new Emitter();
  const room = { isMainRoom: true, id: "room@conference.meet", jid: "room@conference.meet/me", participants: [] };
  const person = (id, ref) => ({
    id, jid: `room@conference.meet/${id}`, role: "participant", displayName: "Someone",
    userContext: ref === undefined ? undefined : { id: ref },
  });
  room.participants.push(person("me", "me-ref"));
  for (const p of opts.present ?? []) room.participants.push(person(p.id, p.ref));
  const fake = {
    calls: [],
    videoMuted: !(opts.videoOn ?? true),
    audioMuted: false,
    broken: false,
    denyCamera: Boolean(opts.denyCamera),
    room,
    /** @param {string} id @param {{ref?: string, userContext?: object}} [extra] */
    joined(id, extra = {}) {
      room.participants.push(person(id, extra.ref));
      const event = { id, displayName: "Someone", formattedDisplayName: "Someone" };
      /** @type {JitsiEventName} */ const name = "participantJoined";
      e.emit(name, extra.userContext ? { ...event, userContext: extra.userContext } : event);
    },
    left(id) {
      room.participants = room.participants.filter((p) => p.id !== id);
      /** @type {JitsiEventName} */ const name = "participantLeft";
      e.emit(name, { id });
    },
    conferenceJoined(localId = "me") {
      /** @type {JitsiEventName} */ const name = "videoConferenceJoined";
      e.emit(name, { roomName: "room", id: localId, displayName: "Me", breakoutRoom: false });
    },
    listenerCount: (n) => e.count(n),
  };
  const api = {
    async isVideoMuted() { if (fake.broken) throw new Error("boom"); return fake.videoMuted; },
    async isAudioMuted() { return fake.audioMuted; },
    async getRoomsInfo() { return { rooms: [JSON.parse(JSON.stringify(room))] }; },
    getParticipantsInfo() {
      return room.participants.map((p) => ({ participantId: p.id, displayName: p.displayName }));
    },
    /** @param {JitsiCommandName} name */
    executeCommand(name, ...args) {
      fake.calls.push([name, ...args]);
      if (fake.broken) throw new Error("boom");
      if (name === "toggleVideo") {
        if (fake.videoMuted && fake.denyCamera) return; // no camera: stays muted, no event
        fake.videoMuted = !fake.videoMuted;
        setTimeout(() => e.emit("videoMuteStatusChanged", { muted: fake.videoMuted }), 20);
      } else if (name === "toggleAudio") {
        fake.audioMuted = !fake.audioMuted;
        setTimeout(() => e.emit("audioMuteStatusChanged", { muted: fake.audioMuted }), 20);
      }
    },
    /** @param {JitsiEventName} name */
    addListener(name, fn) { e.add(name, fn); },
    /** @param {JitsiEventName} name */
    removeListener(name, fn) { e.remove(name, fn); },
  };
  return { adapterArgs: [api], fake };
}

function fakeZoom(opts) {
  const e = new Emitter();
  const fake = {
    calls: [],
    video: opts.videoOn ?? true,
    audio: true,
    broken: false,
    rejectWith: null,
    userDenies: Boolean(opts.userDenies),
    background: null,
    change(participants) { e.emit("onParticipantChange", { participants }); },
    listenerCount: (n) => e.count(n),
  };
  const guard = (name) => {
    fake.calls.push(name);
    if (fake.rejectWith) throw new Error(fake.rejectWith);
    if (fake.broken) throw new Error("boom");
  };
  const zoomSdk = {
    async config() { return { runningContext: "inMeeting", unsupportedApis: [] }; },
    async setVideoState({ video }) { guard("setVideoState"); fake.video = video; return { message: "success" }; },
    async getVideoState() { return { video: fake.video }; },
    async setAudioState({ audio }) { guard("setAudioState"); fake.audio = audio; return { message: "success" }; },
    async setVirtualBackground(options) {
      guard("setVirtualBackground");
      if (fake.userDenies) throw Object.assign(new Error("The user did not allow it."), { code: 10017 });
      fake.background = options;
      return { message: "success" };
    },
    async removeVirtualBackground() { guard("removeVirtualBackground"); fake.background = null; return { message: "success" }; },
    onParticipantChange(fn) { e.add("onParticipantChange", fn); },
    addEventListener(name, fn) { e.add(name, fn); },
    removeEventListener(name, fn) { e.remove(name, fn); },
  };
  const config = { capabilities: opts.capabilities, unsupportedApis: opts.unsupportedApis };
  return { adapterArgs: [zoomSdk, config], fake };
}

function fakeLiveKit(opts) {
  const e = new Emitter();
  const track = {
    processor: null,
    async setProcessor(p) { track.processor = p; },
    async stopProcessor() { track.processor = null; },
  };
  const fake = {
    calls: [],
    broken: false,
    denyCamera: Boolean(opts.denyCamera),
    track,
    connected(identity) { e.emit("participantConnected", { sid: "PA_" + identity, identity }); },
    disconnected(identity) { e.emit("participantDisconnected", { sid: "PA_" + identity, identity }); },
    listenerCount: (n) => e.count(n),
  };
  const localParticipant = {
    isCameraEnabled: opts.videoOn ?? true,
    isMicrophoneEnabled: true,
    async setCameraEnabled(v) {
      fake.calls.push("setCameraEnabled");
      await tick();
      if (fake.broken) throw new Error("boom");
      if (v && fake.denyCamera) throw denied();
      localParticipant.isCameraEnabled = v;
    },
    async setMicrophoneEnabled(v) { fake.calls.push("setMicrophoneEnabled"); localParticipant.isMicrophoneEnabled = v; },
    getTrackPublication(source) { return source === "camera" ? { source, track } : undefined; },
    async publishData(payload, options) {
      if (fake.broken) throw new Error("boom");
      fake.published = { text: new TextDecoder().decode(payload), options };
    },
  };
  fake.local = localParticipant;
  const room = {
    localParticipant,
    on(name, fn) { e.add(name, fn); return room; },
    off(name, fn) { e.remove(name, fn); return room; },
  };
  const options = opts.withBlur ? { blurProcessor: (level) => ({ kind: "BackgroundBlur", radius: Math.round(level * 20) }) } : {};
  return { adapterArgs: [room, options], fake };
}

function fakeTwilio(opts) {
  const e = new Emitter();
  const makeTrack = (enabled) => {
    const t = {
      isEnabled: enabled,
      processors: [],
      enable() { if (fake.broken) throw new Error("boom"); t.isEnabled = true; return t; },
      disable() { if (fake.broken) throw new Error("boom"); t.isEnabled = false; return t; },
      addProcessor(p) { t.processors.push(p); return t; },
      removeProcessor(p) { t.processors = t.processors.filter((x) => x !== p); return t; },
    };
    return t;
  };
  const fake = {
    broken: false,
    connected(identity) { e.emit("participantConnected", { sid: "PA" + identity, identity }); },
    disconnected(identity) { e.emit("participantDisconnected", { sid: "PA" + identity, identity }); },
    listenerCount: (n) => e.count(n),
    sent: [],
  };
  fake.videoTrack = makeTrack(opts.videoOn ?? true);
  fake.audioTrack = makeTrack(true);
  const room = {
    localParticipant: {
      videoTracks: new Map(opts.noTracks ? [] : [["MT1", { track: fake.videoTrack }]]),
      audioTracks: new Map(opts.noTracks ? [] : [["MT2", { track: fake.audioTrack }]]),
    },
    // twilio-video's Room is an EventEmitter (tsdef/Room.d.ts).
    on(name, fn) { e.add(name, fn); return room; },
    removeListener(name, fn) { e.remove(name, fn); return room; },
  };
  const options = {};
  if (opts.withData) options.dataTrack = { send(text) { if (fake.broken) throw new Error("boom"); fake.sent.push(text); } };
  if (opts.withBlur) options.blurProcessor = async (level) => ({ kind: "GaussianBlur", level });
  return { adapterArgs: [room, options], fake };
}

function fakeVonage(opts) {
  const e = new Emitter();
  const fake = {
    calls: [],
    broken: false,
    failVideo: Boolean(opts.failVideo),
    filter: null,
    signals: [],
    created(connectionId, data) { e.emit("connectionCreated", { connection: { connectionId, data } }); },
    destroyed(connectionId, data) { e.emit("connectionDestroyed", { connection: { connectionId, data } }); },
    listenerCount: (n) => e.count(n),
  };
  const publisher = {
    stream: { hasVideo: opts.videoOn ?? true, hasAudio: true },
    publishVideo(v) {
      fake.calls.push(["publishVideo", v]);
      if (fake.broken || fake.failVideo) throw new Error("publisher not ready");
      publisher.stream.hasVideo = v;
    },
    publishAudio(v) { fake.calls.push(["publishAudio", v]); publisher.stream.hasAudio = v; },
    async applyVideoFilter(filter) { fake.filter = filter; },
    async clearVideoFilter() { fake.filter = null; },
  };
  const session = {
    connection: { connectionId: "me" },
    signal(options, callback) {
      setTimeout(() => {
        if (fake.broken) callback({ name: "OT_NOT_CONNECTED", message: "not connected" });
        else { fake.signals.push(options); callback(); }
      }, 5);
    },
    on(name, fn) { e.add(name, fn); },
    off(name, fn) { e.remove(name, fn); },
  };
  const OT = { hasMediaProcessorSupport: () => opts.noProcessors !== true };
  fake.publisher = publisher;
  return { adapterArgs: [{ session, publisher, OT }], fake };
}

class FakeWherebyEmbed extends HTMLElement {
  constructor() {
    super();
    this.calls = [];
    this.broken = false;
  }
  toggleCamera(enabled) {
    this.calls.push(["toggleCamera", enabled]);
    if (this.broken) throw new Error("boom");
    this.dispatchEvent(new CustomEvent("camera_toggle", { detail: { enabled: Boolean(enabled) } }));
  }
  toggleMicrophone(enabled) {
    this.calls.push(["toggleMicrophone", enabled]);
    this.dispatchEvent(new CustomEvent("microphone_toggle", { detail: { enabled: Boolean(enabled) } }));
  }
}
if (!customElements.get("whereby-embed")) customElements.define("whereby-embed", FakeWherebyEmbed);

function fakeWhereby(opts) {
  const element = /** @type {FakeWherebyEmbed} */ (document.createElement("whereby-embed"));
  if (opts.videoOn === false) element.setAttribute("video", "off");
  document.body.append(element);
  const fake = {
    element,
    get calls() { return element.calls; },
    set broken(v) { element.broken = v; },
    joined(externalId) { element.dispatchEvent(new CustomEvent("participant_join", { detail: { participant: { id: "p-" + externalId, externalId } } })); },
    left(externalId) { element.dispatchEvent(new CustomEvent("participant_leave", { detail: { participant: { id: "p-" + externalId, externalId } } })); },
    /** @param {boolean} [denied] */
    denyDevice(denied = true) {
      /** @type {WherebyEventName} */ const name = "deny_device_permission";
      element.dispatchEvent(new CustomEvent(name, { detail: { denied } }));
    },
    grantDevice() {
      /** @type {WherebyEventName} */ const name = "grant_device_permission";
      element.dispatchEvent(new CustomEvent(name, { detail: { granted: true } }));
    },
  };
  return { adapterArgs: [element], fake };
}

const MAKERS = {
  daily: fakeDaily,
  jitsi: fakeJitsi,
  jaas: fakeJitsi,
  zoom: fakeZoom,
  livekit: fakeLiveKit,
  twilio: fakeTwilio,
  vonage: fakeVonage,
  whereby: fakeWhereby,
  generic: () => ({ adapterArgs: [undefined], fake: { set broken(_v) {} } }),
};

export function make(platform, opts = {}) {
  return MAKERS[platform](opts);
}

/** Create a platform's adapter over its fake. */
export async function adapterFor(platform, opts = {}) {
  const module = await import(`/integrations/${platform}/sdk.js`);
  const { adapterArgs, fake } = make(platform, opts);
  return { adapter: module.createAdapter(...adapterArgs), fake, module };
}
