/**
 * Types of `@session-comfort/widgets` (dist/comfort.js): the three elements, their attributes
 * and properties, the `comfort:*` events and their `detail`, and the tag-name and event maps.
 * Parts and `--comfort-*` custom properties are listed in dist/custom-elements.json (the
 * package's `customElements`) and in docs/widgets.md §5. Contract §7, §9.7.
 *
 * Importing the module defines the elements:
 *   import '@session-comfort/widgets';
 *   const client = document.querySelector('comfort-client'); // ComfortClient | null
 *   client?.addEventListener('comfort:signal', (e) => e.detail.type);
 */

/** What a participant can send (contract §3, §9.2). */
export type ComfortSendType =
  | 'pause'
  | 'resume'
  | 'keep_going'
  | 'slow_down'
  | 'zone'
  | 'grounding_started'
  | 'grounding_finished'
  | 'checkin_response'
  | 'help_now'
  | 'location_shared'
  | 'retract'
  | 'acknowledge'
  | 'checkin_request'
  | 'suggest_grounding'
  | (string & {});

/** `comfort:signal`: a press, as soon as it is queued (before the service has it). */
export interface ComfortSignalDetail {
  /** The send's id (a UUID); the Event that later arrives as `comfort:event` has this id. */
  id: string;
  type: ComfortSendType;
  data: Record<string, unknown>;
}

/** Who did something (contract §3). */
export interface ComfortActor {
  /** A participant id, or `"system"`. */
  id: string;
  role: 'therapist' | 'client' | 'system';
}

/** `comfort:event`: a log Event (contract §3) this element had not seen. */
export interface ComfortLogEvent {
  seq: number;
  id: string;
  type: string;
  /** RFC 3339 UTC. */
  at: string;
  actor: ComfortActor;
  /** The participant ids the event is addressed to, or null for everyone who may see it. */
  to: string[] | null;
  data: Record<string, unknown>;
}

/** `comfort:error` codes (contract §9.7; docs/widgets.md "Errors"). */
export type ComfortErrorCode =
  | 'origin_not_allowed'
  | 'invalid_token'
  | 'token_expired'
  | 'session_not_found'
  | 'session_ended';

/** `comfort:error`: the element cannot work and has stopped trying. */
export interface ComfortErrorDetail {
  code: ComfortErrorCode;
  /** For the page's developer (English), e.g. what to add to COMFORT_ALLOWED_ORIGINS. */
  message: string;
}

export type ComfortSignalEvent = CustomEvent<ComfortSignalDetail>;
export type ComfortEventEvent = CustomEvent<ComfortLogEvent>;
export type ComfortErrorEvent = CustomEvent<ComfortErrorDetail>;

/** The `comfort:*` events; all bubble and are composed. */
export interface ComfortEventMap {
  'comfort:signal': ComfortSignalEvent;
  'comfort:event': ComfortEventEvent;
  'comfort:error': ComfortErrorEvent;
}

/** A platform adapter (integrations/sdk-contract.js) or a privacy controller. */
export type ComfortPlatformAdapter =
  | {
      setLocalVideo(on: boolean): Promise<{ ok: boolean }>;
      isLocalVideoOn?(): Promise<boolean | null>;
      capabilities?: { video?: boolean };
    }
  | { pause(): unknown; resume(): unknown };

/** The live connection (read-only; for diagnostics, not a stable API). */
export interface ComfortConnection extends EventTarget {
  readonly lastSeq: number;
  readonly events: readonly ComfortLogEvent[];
}

declare class ComfortElement extends HTMLElement {
  /** The participant's join token (attribute `token`); changing it reconnects. */
  token: string;
  /** The service's origin (attribute `server`); '' means the origin the module came from. */
  server: string;
  /** The live connection, or null without a token. */
  readonly connection: ComfortConnection | null;
  addEventListener<K extends keyof ComfortEventMap>(
    type: K,
    listener: (this: this, ev: ComfortEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener<K extends keyof HTMLElementEventMap>(
    type: K,
    listener: (this: this, ev: HTMLElementEventMap[K]) => unknown,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | AddEventListenerOptions,
  ): void;
  removeEventListener<K extends keyof ComfortEventMap>(
    type: K,
    listener: (this: this, ev: ComfortEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener<K extends keyof HTMLElementEventMap>(
    type: K,
    listener: (this: this, ev: HTMLElementEventMap[K]) => unknown,
    options?: boolean | EventListenerOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: EventListenerOrEventListenerObject,
    options?: boolean | EventListenerOptions,
  ): void;
}

/** `<comfort-client>`: the client's widget. Attributes: `token`, `server`, `lang`. */
export declare class ComfortClient extends ComfortElement {
  /** Optional: what a pause does to the client's camera (docs/widgets.md §4). */
  platformAdapter: ComfortPlatformAdapter | null;
}

/** `<comfort-therapist>`: the therapist's panel. Attributes: `token`, `server`, `lang`. */
export declare class ComfortTherapist extends ComfortElement {
  /** Accepted for symmetry with `<comfort-client>`; the panel does not use it. */
  platformAdapter: ComfortPlatformAdapter | null;
}

/**
 * `<comfort-summary>`: a session's summary, read with a therapist's join token.
 * Attributes: `token`, `server`, `session-id`, `head`, `lang`. Dispatches no `comfort:*` event.
 */
export declare class ComfortSummary extends HTMLElement {
  token: string;
  server: string;
  /** Attribute `session-id`; default: the token's `sid`. */
  sessionId: string;
  /** The last seq the caller has seen; a change refetches the summary while the session runs. */
  head: number;
  /** Optional: the session log the caller holds, used where the summary leaves something out. */
  log: readonly ComfortLogEvent[] | null;
  /** Optional: display names by participant id. */
  names: Record<string, string> | null;
  /** Fetch the summary again. */
  load(): Promise<void>;
}

/** The widgets' words by language (widgets/src/locales/). */
export declare const locales: Record<string, unknown>;

declare global {
  interface HTMLElementTagNameMap {
    'comfort-client': ComfortClient;
    'comfort-therapist': ComfortTherapist;
    'comfort-summary': ComfortSummary;
  }
  // The events bubble and are composed: typed on documents and windows too.
  interface GlobalEventHandlersEventMap {
    'comfort:signal': ComfortSignalEvent;
    'comfort:event': ComfortEventEvent;
    'comfort:error': ComfortErrorEvent;
  }
}
