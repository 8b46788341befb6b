/**
 * JaaS (8x8 Jitsi as a Service): the Jitsi Meet IFrame API, as for self-hosted Jitsi.
 * See integrations/jitsi/sdk.js and integrations/sdk-contract.js.
 */
import { createAdapter as createJitsiAdapter } from "../jitsi/sdk.js";

/**
 * @param {JitsiIFrameApi} api  a `JitsiMeetExternalAPI` instance on 8x8.vc
 * @returns {import("../sdk-contract.js").PlatformClientAdapter}
 */
export function createAdapter(api) {
  return createJitsiAdapter(api, { platform: "jaas" });
}
