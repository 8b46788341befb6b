/**
 * What a client's pause does to their own video through the host's adapter (docs/widgets.md §4;
 * integrations/sdk-contract.js). Two shapes are accepted: a privacy controller with
 * pause()/resume(), or a platform adapter with setLocalVideo(on) resolving to a Result {ok}.
 * Only what the widget changed is undone. Also the camera button of the offline and refusal
 * notices.
 */
import { html, nothing } from 'lit';

export function isPrivacyController(adapter) {
  return !!adapter && typeof adapter.pause === 'function' && typeof adapter.resume === 'function';
}

export function hasCamera(adapter) {
  return typeof adapter.setLocalVideo === 'function' && adapter.capabilities?.video !== false;
}

/**
 * Hides the client's video. Resolves to what was hidden ('controller' | 'video'), or null when
 * nothing was (no adapter, a camera already off, a refusal).
 */
export async function hideVideo(adapter) {
  if (!adapter) return null;
  try {
    if (isPrivacyController(adapter)) {
      await adapter.pause();
      return 'controller';
    }
    if (!hasCamera(adapter)) return null;
    // A camera that is already off stays as it is, and resume leaves it off.
    if (typeof adapter.isLocalVideoOn === 'function' && (await adapter.isLocalVideoOn()) === false) return null;
    const result = await adapter.setLocalVideo(false);
    return result === true || (result && result.ok) ? 'video' : null;
  } catch {
    /* adapters should not throw; if one does, the pause signal has still been sent */
    return null;
  }
}

/** Undoes what `hideVideo` did (`hidden`: its answer). */
export async function restoreVideo(adapter, hidden) {
  if (!adapter || !hidden) return;
  try {
    if (hidden === 'controller') await adapter.resume();
    else await adapter.setLocalVideo(true);
  } catch {
    /* the client can turn the camera on in the platform itself */
  }
}

/** The camera button of the offline and refusal notices, when the host gave an adapter. */
export function renderCameraControl(host, t) {
  const adapter = host.platformAdapter;
  if (!adapter || (!isPrivacyController(adapter) && !hasCamera(adapter))) return nothing;
  const c = t.client;
  return host._hidden
    ? html`<p>${c.cameraIsOff}</p>
        <div class="row">
          <button part="button camera" @click=${() => host._cameraRestore()}>${c.cameraOn}</button>
        </div>`
    : html`<div class="row">
        <button part="button camera" @click=${() => host._cameraOff()}>${c.cameraOff}</button>
      </div>`;
}
