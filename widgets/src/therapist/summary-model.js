/**
 * The session summary as the panel shows it: fetched from the summary route with the
 * therapist's own join token (contract §5; the route's token variant is in docs/protocol.md),
 * turned into one model for the timeline, the per-client facts and a plain-text note for the
 * clinical record. Pure apart from `fetchSummary`.
 *
 * The summary JSON of contract §5 is the source. Where it does not say something the timeline
 * needs, optional fields are used when the service sends them (`pause_spans`, `late`, a zone's
 * `source`, `help_now`, a grounding's `at`) and otherwise the panel's own log fills them in
 * while it has one (during the session, or after it in the same tab).
 */
import { idMap, ownValue, pressGap } from '../state.js';

/**
 * One look per client, so each is told apart without colour: a colour (each ≥ 3:1 on white),
 * a line pattern, a marker shape and a fill pattern for its pauses. Cycles after five.
 */
export const CLIENT_LOOKS = [
  { colour: '#1f5f8b', dash: '', marker: 'circle', fill: 'diagonal' },
  { colour: '#8a3b7c', dash: '7 4', marker: 'square', fill: 'dots' },
  { colour: '#2e6b45', dash: '2 3', marker: 'diamond', fill: 'horizontal' },
  { colour: '#9a4a12', dash: '10 3 2 3', marker: 'triangle', fill: 'cross' },
  { colour: '#4b5563', dash: '1 4', marker: 'cross', fill: 'vertical' },
];

export function summaryUrl(server, sessionId) {
  return `${String(server || '').replace(/\/$/, '')}/api/v1/sessions/${encodeURIComponent(sessionId)}/summary`;
}

/**
 * GET the JSON summary with `Authorization: Bearer <join token>`.
 * Returns {ok: true, summary} or {ok: false, status, code} (status 0: the network failed).
 */
export async function fetchSummary({ server, token, sessionId, fetch = globalThis.fetch }) {
  let response;
  try {
    response = await fetch(summaryUrl(server, sessionId), {
      headers: { Authorization: `Bearer ${token}`, Accept: 'application/json' },
      cache: 'no-store',
      credentials: 'omit',
      referrerPolicy: 'no-referrer',
    });
  } catch {
    return { ok: false, status: 0, code: 'network' };
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (!response.ok || !body || typeof body !== 'object' || !body.session || !body.clients) {
    return { ok: false, status: response.status, code: body?.error?.code || 'unavailable' };
  }
  return { ok: true, summary: body };
}

/** When an entry was pressed, if well before it arrived (a press kept offline): ms, else null. */
function pressedOf(point) {
  return pressGap({ at: point.at, data: { pressed_at: point.pressed_at } })?.pressed ?? null;
}

function ms(at) {
  const t = Date.parse(at);
  return Number.isNaN(t) ? null : t;
}

/** What the panel's log says about pauses, answers and zones, to fill in what the JSON leaves out. */
function fromLog(log) {
  const bySeq = new Map();
  const retracted = new Set();
  for (const e of log) {
    bySeq.set(e.seq, e);
    if (e.type === 'retract') retracted.add(e.data?.seq);
  }
  const spans = idMap();
  const help = idMap();
  const open = idMap();
  for (const e of log) {
    const id = e.actor?.role === 'client' ? e.actor.id : null;
    if (!id || retracted.has(e.seq)) continue;
    if (e.type === 'pause' && open[id] == null) open[id] = e;
    else if (e.type === 'resume' && open[id] != null) {
      (spans[id] ||= []).push({ seq: open[id].seq, from: open[id].at, to: e.at });
      open[id] = null;
    } else if (e.type === 'help_now') (help[id] ||= []).push({ seq: e.seq, at: e.at });
  }
  for (const [id, e] of Object.entries(open)) if (e) (spans[id] ||= []).push({ seq: e.seq, from: e.at, to: null });
  return { bySeq, spans, help };
}

/**
 * The model the summary view draws.
 *
 * Args:
 *   summary: the JSON summary (contract §5).
 *   options.log: the panel's log, if it holds one; options.names: {id: display name} from the
 *     welcome; options.now: ms, the end of a session still running.
 */
export function summaryModel(summary, { log = [], names = {}, now = Date.now() } = {}) {
  const session = summary.session || {};
  const known = fromLog(log);
  const display = idMap();
  for (const p of session.participants || []) display[p.id] = p.display_name || ownValue(names, p.id) || p.id;
  const final = session.state === 'ended';
  let start = ms(session.started_at) ?? ms(session.created_at) ?? now;
  const end = ms(session.ended_at) ?? now;
  const clients = Object.entries(summary.clients || {}).map(([id, c], i) => {
    const logged = (seq) => known.bySeq.get(seq);
    const suds = (c.suds || []).map((p) => ({
      seq: p.seq,
      at: p.at,
      t: ms(p.at),
      value: p.value,
      late: p.late ?? logged(p.seq)?.data?.late === true,
      pressed: pressedOf(p),
    }));
    const zones = (c.zones || []).map((p) => {
      const event = logged(p.seq);
      const source = p.source || (event ? (event.type === 'zone' ? 'signal' : 'answer') : null);
      return {
        seq: p.seq,
        at: p.at,
        t: ms(p.at),
        zone: p.zone,
        source,
        late: p.late ?? event?.data?.late === true,
        pressed: pressedOf(p),
      };
    });
    const rawSpans = c.pause_spans || known.spans[id] || [];
    const spans = rawSpans.map((s) => ({
      from: ms(s.from),
      to: s.to == null ? end : ms(s.to),
      open: s.to == null,
    }));
    const help = (c.help_now || known.help[id] || []).map((h) => ({ at: h.at, t: ms(h.at) }));
    for (const point of [...suds, ...zones, ...spans.map((s) => ({ t: s.from })), ...help]) {
      if (point.t != null && point.t < start) start = point.t;
    }
    return {
      id,
      name: display[id] || ownValue(names, id) || id,
      look: CLIENT_LOOKS[i % CLIENT_LOOKS.length],
      suds,
      zones,
      spans,
      spansKnown: !!c.pause_spans || log.length > 0,
      pauses: c.pauses ?? spans.length,
      pausedSeconds: c.paused_seconds ?? 0,
      grounding: (c.grounding || []).map((g) => ({ ...g, t: g.at ? ms(g.at) : null })),
      help,
    };
  });
  const cues = (summary.cues || []).map((e) => ({
    seq: e.seq,
    at: e.at,
    t: ms(e.at),
    severity: e.data?.severity || 'info',
    rule: e.data?.rule,
    clientId: e.data?.client_id || null,
  }));
  return {
    final,
    start,
    end: Math.max(end, start + 60_000),
    startedAt: session.started_at,
    endedAt: session.ended_at,
    scheduled: session.scheduled_minutes,
    clients,
    cues,
    counts: summary.counts || {},
    names: Object.assign(idMap(), names, display),
  };
}

/**
 * How a zone came, "pressed" or "answered", and when it was made if that was well before it
 * arrived (a press kept offline) and at another minute: "pressed at 14:02". Empty when the
 * source is unknown.
 */
export function zoneHow(zone, words, clock) {
  const how = zone.source ? words.sources[zone.source] : null;
  if (madeEarlier(zone, clock)) return words.madeAt(how ?? words.sources.signal, clock(zone.pressed));
  return how ?? '';
}

/** True when an entry was made at another clock time than it arrived, as the summary tells time. */
export function madeEarlier(point, clock) {
  return point.pressed != null && clock(point.pressed) !== clock(point.t);
}

/** An open pause younger than this reads "paused just now". */
export const JUST_NOW_MS = 60_000;

/**
 * A client's time paused, true at `nowMs`: a pause still open in a running session is told by
 * when it began ("paused just now", then "paused since 14:02"), never as "0 s paused"; otherwise
 * the total ("3 min 5 s paused").
 */
export function pausedWords(client, words, clock, { final, nowMs }) {
  const open = final ? null : client.spans.find((s) => s.open && s.from != null);
  if (open) return nowMs - open.from < JUST_NOW_MS ? words.pausedJustNow : words.pausedSince(clock(open.from));
  return `${duration(client.pausedSeconds, words)} ${words.paused}`;
}

/** Minutes and seconds, as "12 min 5 s" (or "45 s"). */
export function duration(seconds, words) {
  const s = Math.max(0, Math.round(seconds));
  const m = Math.floor(s / 60);
  return m ? words.minSec(m, s % 60) : words.sec(s);
}

/** The summary as plain text, to paste into a clinical note. */
export function summaryText(model, sm, clock, date, nowMs = Date.now()) {
  const lines = [];
  lines.push(`${sm.title} (${model.final ? sm.final : sm.live})`);
  lines.push(sm.when(date(model.start), clock(model.start), clock(model.end), Math.round((model.end - model.start) / 60_000), model.scheduled));
  for (const c of model.clients) {
    lines.push('');
    lines.push(c.name);
    const answered = (p) => (madeEarlier(p, clock) ? `, ${sm.madeAt(sm.sources.answer, clock(p.pressed))}` : '');
    const suds = c.suds.map((p) => `${p.value} (${clock(p.t)}${answered(p)}${p.late ? `, ${sm.late}` : ''})`);
    lines.push(`  ${sm.suds}: ${suds.length ? suds.join(', ') : sm.none}`);
    const zones = c.zones.map(
      (z) =>
        `${sm.zoneNames[z.zone] || z.zone} (${clock(z.t)}${zoneHow(z, sm, clock) ? `, ${zoneHow(z, sm, clock)}` : ''}${z.late ? `, ${sm.late}` : ''})`,
    );
    lines.push(`  ${sm.zones}: ${zones.length ? zones.join(', ') : sm.none}`);
    const paused = pausedWords(c, sm, clock, { final: model.final, nowMs });
    lines.push(`  ${sm.pauses}: ${c.pauses}${c.pauses ? ` (${paused})` : ''}`);
    if (c.help.length) lines.push(`  ${sm.help}: ${c.help.map((h) => clock(h.t)).join(', ')}`);
    const grounding = c.grounding.map((g) => `${sm.exercise(g.exercise)} (${g.completed ? sm.completed : sm.stoppedEarly}, ${duration(g.duration_s, sm)})`);
    lines.push(`  ${sm.grounding}: ${grounding.length ? grounding.join(', ') : sm.none}`);
  }
  const loud = model.cues.filter((c) => c.severity !== 'info');
  if (loud.length) {
    lines.push('');
    lines.push(`${sm.cues}:`);
    for (const cue of loud) {
      lines.push(`  ${clock(cue.t)} ${sm.severity[cue.severity]}: ${sm.rule(cue.rule)}${cue.clientId ? ` (${model.names[cue.clientId] || cue.clientId})` : ''}`);
    }
  }
  return lines.join('\n');
}
