/**
 * What the therapist panel calls each participant. Display names come with the welcome, and only
 * there: they are kept in memory for the page, never in sessionStorage (the log kept there holds
 * ids, not names). Before the welcome (a panel reloaded while it cannot connect) the panel names
 * no one it cannot name: each participant its log knows is "Client" or "Therapist", numbered
 * when the log knows several of a role, until the welcome brings the names. No DOM.
 */
import { idMap } from '../state.js';

/**
 * Names by participant id (an idMap: any id is its own key, `__proto__` too).
 *
 * Once welcomed: the display name the vendor gave, else the participant id (as the summary does,
 * docs/summary.md). Before: `words.client(n)` / `words.therapist(n)` for each client and therapist
 * the log shows, `n` their place by first appearance when the log holds several of that role,
 * else null. A role's number is this panel's own, not the vendor's: it only tells rows apart.
 *
 * Args:
 *   welcome: the connection's welcome, or null before the first one.
 *   events: the log this page holds.
 *   words: the locale's `therapist.placeholderName`.
 */
export function panelNames(welcome, events, words) {
  const names = idMap();
  if (welcome) {
    for (const p of welcome.session?.participants || []) names[p.id] = p.display_name || p.id;
    return names;
  }
  const seen = { client: new Set(), therapist: new Set() }; // role -> ids by first appearance
  const note = (id, role) => {
    if (typeof id === 'string' && id && Object.hasOwn(seen, role)) seen[role].add(id);
  };
  for (const event of events) {
    note(event.actor?.id, event.actor?.role);
    note(event.data?.participant?.id, event.data?.participant?.role);
    if (event.type === 'cue') note(event.data?.client_id, 'client');
    for (const id of listOf(event.to) || listOf(event.data?.to) || []) note(id, 'client');
  }
  for (const [role, ids] of Object.entries(seen)) {
    let n = 0;
    for (const id of ids) names[id] = words[role](ids.size > 1 ? (n += 1) : null);
  }
  return names;
}

function listOf(value) {
  return Array.isArray(value) ? value : null;
}
