/**
 * The widgets bundle served as /widgets/comfort.js: importing it defines <comfort-client> and
 * <comfort-therapist>. The named exports are for hosts that want to reach in (docs/widgets.md).
 */
export { ComfortClient } from './comfort-client.js';
export { ComfortTherapist } from './comfort-therapist.js';
export { ComfortConnection } from './connection.js';
export { locales } from './locales/index.js';
