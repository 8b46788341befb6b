/**
 * The widgets bundle served as /widgets/comfort.js and shipped as the npm package's main module
 * (@session-comfort/widgets): importing it defines <comfort-client>, <comfort-therapist> and
 * <comfort-summary>. The named exports are for hosts that want to reach in (docs/widgets.md;
 * their types: types/comfort.d.ts).
 */
export { ComfortClient } from './comfort-client.js';
export { ComfortTherapist } from './comfort-therapist.js';
export { ComfortSummary } from './comfort-summary.js';
export { ComfortConnection } from './connection.js';
export { locales } from './locales/index.js';
