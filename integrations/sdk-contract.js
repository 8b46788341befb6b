/**
 * The client-side platform adapter contract, and the privacy controller built on it.
 *
 * Every `integrations/<platform>/sdk.js` exports `createAdapter(sdk, options?)` returning a
 * PlatformClientAdapter around the platform's own SDK object (which the vendor's page has
 * already created and joined). Adapters never throw: every command resolves to a Result.
 *
 * @typedef {{ok: true} | {ok: false, reason: "unsupported" | "denied" | "error", message?: string}} Result
 *
 * @typedef {object} Capabilities
 * @property {boolean} video              can turn the local camera off and on
 * @property {boolean} audio              can mute and unmute the local microphone
 * @property {boolean} blur               can blur the local background
 * @property {boolean} appMessage         can send a data message to the other participants
 * @property {boolean} participantEvents  reports participants joining and leaving
 *
 * @typedef {object} ParticipantEvent
 * @property {string} id          the platform's participant id
 * @property {string|null} ref    the identity the vendor set (our participant `platform_ref`), when known
 * @property {boolean} [local]    true for the local participant
 *
 * @typedef {object} PlatformClientAdapter
 * @property {string} platform
 * @property {Capabilities} capabilities
 * @property {(on: boolean) => Promise<Result>} setLocalVideo
 * @property {(on: boolean) => Promise<Result>} setLocalAudio
 * @property {(level: number) => Promise<Result>} setBlur  0 = off, up to 1 = strongest
 * @property {(msg: unknown) => Promise<Result>} sendAppMessage  JSON-serialisable message
 * @property {() => Promise<boolean|null>} isLocalVideoOn  null when the platform does not say
 * @property {(event: "participant-joined"|"participant-left", fn: (p: ParticipantEvent) => void) => () => void} on
 *           returns a function that removes the listener
 * @property {() => void} destroy  removes the adapter's listeners from the SDK
 */

/** Every platform adapter module, by platform name (relative to this file). */
export const ADAPTER_MODULES = Object.freeze({
  zoom: "./zoom/sdk.js",
  daily: "./daily/sdk.js",
  jaas: "./jaas/sdk.js",
  jitsi: "./jitsi/sdk.js",
  whereby: "./whereby/sdk.js",
  livekit: "./livekit/sdk.js",
  twilio: "./twilio/sdk.js",
  vonage: "./vonage/sdk.js",
  generic: "./generic/sdk.js",
});

/** Load the adapter module for a platform (one of contract §2's platforms). */
export async function loadAdapterModule(platform) {
  const path = ADAPTER_MODULES[platform];
  if (!path) throw new Error(`unknown platform ${platform}`);
  return import(new URL(path, import.meta.url).href);
}

/**
 * What the default overlay leaves uncovered, always: the client's widget (its Pause, Ready to go
 * on and Help now must stay in reach while the overlay shows) and the client's embed page in an
 * iframe.
 */
export const KEEP_CLEAR = 'comfort-client, iframe[src*="/embed/client"]';

/**
 * The overlay shown when neither the camera nor blur can hide the client: a calm "Paused" over
 * this page, with a hole cut (clip-path) around every element matching `keepClear`, kept in
 * place while the page scrolls, resizes or the widget changes size. A clipped-away area takes no
 * clicks either, so the widget under a hole is pressed, not the overlay.
 *
 * @param {Document} doc
 * @param {string} keepClear a CSS selector
 * @returns {(on: boolean) => void}
 */
function defaultOverlay(doc, keepClear) {
  /** @type {HTMLElement | null} */
  let element = null;
  /** @type {ResizeObserver | null} */
  let resizes = null;
  let frame = 0;
  const view = doc.defaultView;

  function cutOut() {
    frame = 0;
    if (!element || !view) return;
    const width = view.innerWidth;
    const height = view.innerHeight;
    const kept = /** @type {Element[]} */ ([...doc.querySelectorAll(keepClear)]);
    for (const el of kept) resizes?.observe(el);
    const holes = kept
      .map((el) => el.getBoundingClientRect())
      .filter((r) => r.width > 0 && r.height > 0 && r.bottom > 0 && r.right > 0 && r.left < width && r.top < height);
    if (!holes.length) {
      element.style.clipPath = "";
      return;
    }
    const px = (/** @type {number} */ x, /** @type {number} */ y) => `${Math.round(x)}px ${Math.round(y)}px`;
    // The viewport, then each hole as its own ring, back to the start between rings: with the
    // even-odd rule every ring is cut out.
    const points = [px(0, 0), px(width, 0), px(width, height), px(0, height), px(0, 0)];
    for (const r of holes) {
      points.push(px(r.left, r.top), px(r.right, r.top), px(r.right, r.bottom), px(r.left, r.bottom), px(r.left, r.top), px(0, 0));
    }
    element.style.clipPath = `polygon(evenodd, ${points.join(", ")})`;
  }

  const soon = () => {
    if (!frame && view) frame = view.requestAnimationFrame(cutOut);
  };

  return (on) => {
    if (on && !element) {
      element = doc.createElement("div");
      element.setAttribute("role", "status");
      element.setAttribute("data-comfort-privacy-overlay", "");
      element.textContent = "Paused";
      Object.assign(element.style, {
        position: "fixed", inset: "0", zIndex: "2147483647", display: "flex",
        alignItems: "center", justifyContent: "center", background: "rgba(20, 24, 28, 0.92)",
        color: "#fff", font: "600 1.5rem system-ui, sans-serif",
      });
      doc.body.append(element);
      resizes = typeof ResizeObserver === "function" ? new ResizeObserver(soon) : null;
      resizes?.observe(doc.documentElement);
      view?.addEventListener("scroll", soon, { capture: true, passive: true });
      view?.addEventListener("resize", soon);
      cutOut();
    } else if (!on && element) {
      element.remove();
      element = null;
      resizes?.disconnect();
      resizes = null;
      view?.removeEventListener("scroll", soon, { capture: true });
      view?.removeEventListener("resize", soon);
      if (frame && view) view.cancelAnimationFrame(frame);
      frame = 0;
    }
  };
}

/**
 * What a client's pause does to their own video, and what resume undoes.
 *
 * Pause: camera off where the platform allows it, else background blur, else a privacy
 * overlay on this page. The overlay never covers the client's widget (`keepClear`, default
 * `KEEP_CLEAR`): Pause, Ready to go on and Help now stay in view and in reach. A `showOverlay`
 * of your own must leave them uncovered too. Resume restores only what pause changed: a camera
 * that was already off stays off. The therapist is told through the service's socket, never
 * through this.
 *
 * @param {PlatformClientAdapter} adapter
 * @param {{showOverlay?: (on: boolean) => void, document?: Document, blurLevel?: number, keepClear?: string}} [options]
 */
export function createPrivacyController(adapter, options = {}) {
  const showOverlay =
    options.showOverlay ?? defaultOverlay(options.document ?? globalThis.document, options.keepClear ?? KEEP_CLEAR);
  const blurLevel = options.blurLevel ?? 1;
  /** @type {null | {mode: string, video?: boolean, blur?: boolean, overlay?: boolean}} */
  let changed = null;

  async function hide() {
    if (adapter.capabilities.video) {
      const was = await adapter.isLocalVideoOn();
      if (was === false) return { mode: "none" }; // nothing to hide, nothing to restore
      if ((await adapter.setLocalVideo(false)).ok) return { mode: "video", video: true };
    }
    if (adapter.capabilities.blur && (await adapter.setBlur(blurLevel)).ok) {
      return { mode: "blur", blur: true };
    }
    showOverlay(true);
    return { mode: "overlay", overlay: true };
  }

  return {
    /** @returns {Promise<"video"|"blur"|"overlay"|"none">} how the video was hidden */
    async pause() {
      if (!changed) changed = await hide();
      return /** @type {any} */ (changed.mode);
    },
    /** Undo exactly what pause did. */
    async resume() {
      const undo = changed;
      changed = null;
      if (!undo) return;
      if (undo.video) await adapter.setLocalVideo(true);
      if (undo.blur) await adapter.setBlur(0);
      if (undo.overlay) showOverlay(false);
    },
    get paused() {
      return changed !== null;
    },
  };
}
