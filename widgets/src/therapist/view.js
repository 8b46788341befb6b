/**
 * How the therapist panel draws its rows: Needs attention, the clients and the feed. Pure
 * template functions of the rows from attention.js and a context (strings, names, clock and
 * the two actions), so the element keeps only wiring. Severity is always an icon of its own
 * shape, a word and a colour, never colour alone.
 */
import { html, nothing, svg } from 'lit';
import { repeat } from 'lit/directives/repeat.js';
import { ackText } from './acks.js';
import { isPanelSignal, owesResponse, rowSeqs } from './attention.js';
import { pressGap, sparklinePoints, sudsHistory } from '../state.js';

/** Glyphs inside the severity shapes (a circle for urgent, a triangle for warn). */
export const ICONS = { urgent: '!!', warn: '!', info: 'i' };

export function formatClock(at, locale, seconds = false) {
  const d = new Date(at);
  if (Number.isNaN(d.getTime())) return '';
  const options = { hour: '2-digit', minute: '2-digit' };
  if (seconds) options.second = '2-digit';
  return d.toLocaleTimeString(locale || [], options);
}

function severityIcon(severity) {
  return html`<span class="sev-icon ${severity}" aria-hidden="true">${ICONS[severity]}</span>`;
}

function nameOf(ctx, id) {
  return ctx.names[id] || id || '';
}

function timeEl(ctx, at) {
  return html`<time datetime=${at}>${formatClock(at, ctx.th.locale)}</time>`;
}

/**
 * When an event happened: its time, or for a press that waited (kept offline on the client's
 * device, then sent) "pressed 14:02, arrived 14:05" — with seconds when the minutes agree.
 */
function whenEl(ctx, event) {
  const gap = pressGap(event);
  if (!gap) return timeEl(ctx, event.at);
  const locale = ctx.th.locale;
  const seconds = formatClock(gap.pressed, locale) === formatClock(gap.arrived, locale);
  return html`<span class="pressed-arrived" data-pressed-at=${event.data.pressed_at}
    >${ctx.th.pressedArrived(formatClock(gap.pressed, locale, seconds), formatClock(gap.arrived, locale, seconds))}</span
  >`;
}

// ---- Needs attention ---------------------------------------------------------------------

/** The region that holds, first and only there, what needs the therapist now (contract §9.7). */
export function renderAttention(ctx, rows) {
  const th = ctx.th;
  // While the panel may be behind (reconnecting, or replaying what it missed) it cannot know
  // that nothing needs attention: it says what it knows instead, and keeps the rows it has.
  const look = rows.length ? 'busy' : ctx.behind ? 'behind' : 'calm';
  return html`<section
    class="attention ${look} ${rows.some((r) => r.severity === 'urgent') ? 'has-urgent' : ''}"
    part="attention"
    aria-labelledby="attention-h"
  >
    <div class="attention-head">
      <h3 id="attention-h" tabindex="-1">${th.attentionHeading}</h3>
      ${rows.length ? html`<span class="count" aria-hidden="true">${rows.length}</span>` : nothing}
    </div>
    ${ctx.behind
      ? html`<p class="behind-note" part="attention-behind">${behindText(th, ctx.behind, rows.length)}</p>`
      : nothing}
    ${rows.length
      ? html`<ul class="needs">
          ${repeat(rows, (row) => row.key, (row) => attentionRow(ctx, row))}
        </ul>`
      : ctx.behind
        ? nothing
        : html`<p class="all-clear"><span aria-hidden="true">✓ </span>${th.nothingNeedsAttention}</p>`}
  </section>`;
}

/**
 * What the panel knows while it may be behind (`behind`: {since, offline}): since when, and
 * whether it is connected yet. `shown`: how many rows Needs attention holds. Before the first
 * connection those can only be rows kept in this tab from before (a reload): the note says they
 * came in earlier, never that what needs attention is still to come.
 */
export function behindText(th, behind, shown) {
  if (behind.since == null) return shown ? th.behind.connectingKept : th.behind.connecting;
  const since = formatClock(behind.since, th.locale);
  return behind.offline ? th.behind.reconnecting(since) : th.behind.catchingUp(since);
}

/** A client's last known fact while the panel may be behind ("Connected · as of 4:21 PM"). */
function lastKnown(ctx, word) {
  if (!ctx.behind) return word;
  const since = ctx.behind.since == null ? null : formatClock(ctx.behind.since, ctx.th.locale);
  return ctx.th.behind.asOf(word, since);
}

function attentionRow(ctx, row) {
  const th = ctx.th;
  const id = `att-${row.key.replace(/[^\w-]/g, '_')}`;
  const minutes = Math.max(0, Math.floor((ctx.now - row.since) / 60_000));
  const location = ctx.locations[row.clientId];
  const showLocation = row.kind === 'help' || (row.severity === 'urgent' && location);
  const described = `${id} ${id}-meta`;
  // A row whose acknowledgement is kept on this device, or on its way, stays, saying so, with
  // nothing to press (unless a signal came after it: then Acknowledge is for that one).
  const signals = row.members.some((e) => isPanelSignal(e));
  const acking = signals && !ctx.ended ? ackText(th, row.ackState, ctx.connectedBefore) : '';
  let button = nothing;
  if (row.ackSeqs.length && !ctx.ended) {
    button = html`<button part="acknowledge" aria-describedby=${described} @click=${() => ctx.onAck(row)}>${th.acknowledge}</button>`;
  } else if (!row.ackState || ctx.ended) {
    button = html`<button part="dismiss" aria-describedby=${described} @click=${() => ctx.onDismiss(row, ctx.ended)}>${th.gotIt}</button>`;
  }
  return html`<li
    class="need sev-${row.severity}"
    part="attention-item attention-item-${row.severity}"
    tabindex="-1"
    data-key=${row.key}
    data-seq=${row.event.seq}
    data-seqs=${rowSeqs(row).join(' ')}
  >
    ${severityIcon(row.severity)}
    <p class="line" id=${id}>
      ${row.clientId ? html`<strong class="who">${nameOf(ctx, row.clientId)}</strong>` : nothing}
      <span class="what">${rowTitle(ctx, row)}</span>
    </p>
    ${button}
    <p class="meta" id="${id}-meta">
      <span class="sev-word">${th.severity[row.severity]}</span> · ${whenEl(ctx, row.event)}${minutes >= 1
        ? html` · ${th.ago(minutes)}`
        : nothing}${rowDetails(ctx, row).map((d) => html` · ${d}`)}
    </p>
    ${signals ? ackLine(acking, row.ackState) : nothing}
    ${showLocation
      ? html`<p class="location">
          <span class="label">${th.location}:</span>
          ${location ? html`<span class="place">${location.data?.text}</span>` : html`<span class="muted">${th.noLocation}</span>`}
        </p>`
      : nothing}
  </li>`;
}

/**
 * Where a row's acknowledgement stands, in a polite live region that is there (empty) before
 * it has anything to say, so the change is announced: not sent yet, sending, or refused.
 */
function ackLine(words, state) {
  return html`<p class="ack-state" part="ack-state" role="status" data-state=${words ? state : nothing}>${words}</p>`;
}

function rowTitle(ctx, row) {
  const th = ctx.th;
  const rows = th.rows;
  const count = row.members.length > 1 && isPanelSignal(row.event) ? ` ${th.times(row.members.length)}` : '';
  switch (row.kind) {
    case 'help':
      return rows.help + count;
    case 'pause':
      return rows.pause + count;
    case 'pace':
      return rows.pace + count;
    case 'zone':
      return rows.zone(zoneName(th, zoneOf(row.event)));
    case 'distress':
      return rows.distress(row.event.data?.value);
    case 'left':
      return rows.left;
    case 'time':
      return rows.time;
    default:
      return th.rules[row.event.data?.rule] || row.event.data?.message || row.event.data?.rule || '';
  }
}

/** Short facts after the time: the cues folded in, an answer's lateness, a resume. */
function rowDetails(ctx, row) {
  const th = ctx.th;
  const out = [];
  if (row.kind === 'zone' && row.event.type === 'checkin_response') out.push(th.byCheckIn);
  if (row.kind === 'distress') {
    const rising = row.cues.find((c) => c.data?.rule === 'distress_rising' && lastOf(c.data.related_seq) === row.event.seq);
    const previous = rising && ctx.bySeq.get(rising.data.related_seq[0]);
    if (previous && typeof previous.data?.value === 'number') out.push(th.roseFrom(previous.data.value));
  }
  if (row.late) out.push(lateTag(th));
  if (row.kind === 'left') {
    const related = ctx.bySeq.get(row.event.data?.related_seq?.[0]);
    if (related) out.push(th.leftContext[related.type] || th.leftContext.distress);
  }
  // The row already says what these cues say (a pause waiting, a distress answer, a zone).
  const said = new Set(['pause_unacknowledged', 'distress_high', 'distress_rising', 'out_of_window', 'help_requested']);
  for (const cue of row.cues) {
    const rule = cue.data?.rule;
    if (!said.has(rule)) out.push(th.rules[rule] || rule);
  }
  if (row.resumed) out.push(th.resumedAt(formatClock(row.resumed.at, th.locale)));
  if (ctx.ended && row.ackSeqs.length) out.push(th.notAcknowledgedBeforeEnd);
  return out;
}

function lastOf(list) {
  return list && list.length ? list[list.length - 1] : undefined;
}

function lateTag(th) {
  return html`<span class="tag late" title=${th.lateHint}
    >${th.late}<span class="visually-hidden"> (${th.lateHint})</span></span
  >`;
}

function zoneOf(event) {
  return event.type === 'zone' ? event.data?.zone : event.data?.value;
}

function zoneName(th, zone) {
  return th.zoneValues[zone] || zone;
}

// ---- clients -----------------------------------------------------------------------------

export function renderClients(ctx, states, events) {
  const th = ctx.th;
  // No heading over nothing: before its first welcome (and with no log kept from before a
  // reload) the panel knows no client yet, and Needs attention and the status line already say
  // it is connecting. Once connected there is always one: a session has at least one client.
  if (!Object.keys(states).length) return nothing;
  return html`<section class="clients-section" aria-labelledby="clients-h" part="clients">
    <h3 id="clients-h">${th.clientsHeading}</h3>
    <ul class="clients">
      ${Object.entries(states).map(([id, state]) => clientCard(ctx, id, state, events))}
    </ul>
  </section>`;
}

function clientCard(ctx, id, state, events) {
  const th = ctx.th;
  const none = th.sudsNone;
  const suds = sudsHistory(events, id);
  const location = ctx.locations[id];
  return html`<li class="client" part="client-row">
    <div class="client-name">
      <strong>${nameOf(ctx, id)}</strong>
      ${ctx.ended
        ? nothing
        : html`<span class="small muted"
            ><span class="dot ${state.connected && !ctx.behind ? 'online' : ''}" aria-hidden="true"></span>${lastKnown(
              ctx,
              state.connected ? th.connected : th.away,
            )}</span
          >`}
    </div>
    <dl class="facts">
      <div>
        <dt>${th.paused}</dt>
        <dd>
          ${state.paused
            ? html`<span class="badge sev-urgent">${severityIcon('urgent')}${th.paused}</span>`
            : html`<span class="muted">${ctx.behind ? th.behind.unknown : th.notPaused}</span>`}
        </dd>
      </div>
      <div>
        <dt>${th.pace}</dt>
        <dd>${th.paceValues[state.pace] ?? none}</dd>
      </div>
      <div>
        <dt>${th.zone}</dt>
        <dd>
          ${state.zone && state.zone !== 'okay'
            ? html`<span class="badge sev-warn">${severityIcon('warn')}${zoneName(th, state.zone)}</span>`
            : th.zoneValues[state.zone] ?? none}
        </dd>
      </div>
      <div>
        <dt>${th.suds}</dt>
        <dd>${state.last_suds ?? none} ${suds.length > 1 ? trend(th, suds) : nothing}</dd>
      </div>
      <div>
        <dt>${th.grounding}</dt>
        <dd>${state.grounding ? ctx.exerciseName(state.grounding) : th.groundingNone}</dd>
      </div>
    </dl>
    ${location
      ? html`<p class="location small"><span class="label">${th.location}:</span> <span class="place">${location.data?.text}</span></p>`
      : nothing}
  </li>`;
}

function trend(th, values) {
  const recent = values.slice(-12);
  const points = sparklinePoints(recent);
  const last = points.split(' ').pop().split(',');
  return html`<svg class="trend" viewBox="0 0 80 24" role="img" aria-label=${th.sudsTrend(recent)}>
    ${svg`<polyline points=${points}></polyline><circle cx=${last[0]} cy=${last[1]} r="2.5"></circle>`}
  </svg>`;
}

// ---- the feed ----------------------------------------------------------------------------

export function renderFeed(ctx, rows) {
  const th = ctx.th;
  // No heading over nothing: an empty feed says "Nothing yet." only when the panel is caught up;
  // before that (a panel that never connected and kept no log from before a reload, say) it
  // cannot know, and Needs attention and the status line already say why.
  if (!rows.length && ctx.behind) return nothing;
  return html`<section class="feed-section" aria-labelledby="feed-h" part="feed">
    <h3 id="feed-h">${th.feedHeading}</h3>
    ${rows.length
      ? html`<ul class="feed">
          ${repeat(rows, (row) => row.key, (row) => feedRow(ctx, row))}
        </ul>`
      : html`<p class="muted small">${th.feedEmpty}</p>`}
  </section>`;
}

function feedRow(ctx, row) {
  const th = ctx.th;
  const { event } = row;
  const signal = isPanelSignal(event);
  const withdrawn = signal && ctx.index.retracted.has(event.seq);
  // Acknowledged: in the log, or stored by the service (its ack) on its way to the log.
  const acked = signal && (ctx.index.acknowledged.has(event.seq) || ctx.acks.get(event.seq) === 'stored');
  const actor = event.actor || {};
  const who = actor.role === 'client' || actor.role === 'therapist' ? nameOf(ctx, actor.id) : '';
  const id = `item-${event.seq}`;
  let side = nothing;
  if (withdrawn) {
    side = html`<span class="small muted">${th.withdrawn}</span>`;
  } else if (acked) {
    side = html`<span class="small muted"><span aria-hidden="true">✓ </span>${th.acknowledged}</span>`;
  } else if (row.ackSeqs.length && !ctx.ended) {
    side = html`<button class="quiet" part="acknowledge" aria-describedby=${id} @click=${() => ctx.onAck(row)}>
      ${th.acknowledge}
    </button>`;
  }
  // A signal owed a response says where this panel's acknowledgement of it stands, on a line
  // of its own under the row (the words are longer than the button they replace).
  const owed = owesResponse(event) && !withdrawn && !acked && !ctx.ended;
  const acking = owed ? ackText(th, row.ackState, ctx.connectedBefore) : '';
  const loud = row.severity !== 'info';
  const about = event.type === 'cue' && event.data?.client_id ? nameOf(ctx, event.data.client_id) : '';
  return html`<li
    class="item sev-${row.severity} ${withdrawn ? 'withdrawn' : ''}"
    part="feed-item feed-item-${row.severity}"
    tabindex="-1"
    data-seq=${event.seq}
    data-seqs=${rowSeqs(row).join(' ')}
  >
    ${loud ? severityIcon(row.severity) : html`<span class="bullet" aria-hidden="true"></span>`}
    <p id=${id} class="line">
      ${loud ? html`<span class="sev-word">${th.severity[row.severity]}</span> ` : nothing}<span class="what"
        >${describe(ctx, event)}</span
      >${row.cues.map((c) => cueTag(ctx, c, row))}${row.late ? html` ${lateTag(th)}` : nothing}
      <span class="meta">· ${who || about ? html`${who || about} · ` : nothing}${whenEl(ctx, event)}${requestFacts(ctx, row)}</span>
    </p>
    ${side} ${owed ? ackLine(acking, row.ackState) : nothing}
  </li>`;
}

function cueTag(ctx, cue, row) {
  const th = ctx.th;
  const severity = cue.data?.severity || 'info';
  const rule = cue.data?.rule;
  // A check-in's cues name who did not answer; the request row says that already.
  if (rule === 'checkin_unanswered' || row.event.type === 'checkin_request') return nothing;
  let words = th.rules[rule] || rule;
  if (rule === 'distress_rising') {
    const previous = ctx.bySeq.get(cue.data.related_seq?.[0]);
    if (previous && typeof previous.data?.value === 'number') words = `${words} (${th.roseFrom(previous.data.value)})`;
  }
  return html` <span class="tag sev-${severity}"
    ><span aria-hidden="true">${severity === 'urgent' ? '‼ ' : severity === 'warn' ? '▲ ' : ''}</span>${words}</span
  >`;
}

/** Who answered a check-in, who did not, and whether it closed. */
function requestFacts(ctx, row) {
  if (row.event.type !== 'checkin_request') return nothing;
  const th = ctx.th;
  const to = row.event.to || row.event.data?.to || ctx.clientIds;
  const answered = to.filter((id) => row.answers[id]);
  const missing = to.filter((id) => !row.answers[id]);
  const parts = [];
  const answerer = (id) => (row.answers[id].data?.late ? `${nameOf(ctx, id)} (${th.late.toLowerCase()})` : nameOf(ctx, id));
  if (answered.length) parts.push(th.answeredBy(answered.map(answerer).join(', ')));
  if (missing.length && (row.expired || row.cues.length)) parts.push(th.notAnswered(missing.map((id) => nameOf(ctx, id)).join(', ')));
  if (row.expired) parts.push(th.checkinClosed);
  return parts.map((p) => html` · ${p}`);
}

/** Names a log event as the client's button does (contract §7), in the panel's words. */
export function describe(ctx, event) {
  const th = ctx.th;
  const data = event.data || {};
  const whoTo = (to) => (to && to.length ? to.map((id) => nameOf(ctx, id)).join(', ') : th.everyone);
  if (isPanelSignal(event)) {
    const label = th.signals[event.type];
    if (event.type === 'zone') return label(zoneName(th, data.zone));
    if (event.type === 'grounding_started') return label(ctx.exerciseName(data.exercise));
    if (event.type === 'grounding_finished') return label(ctx.exerciseName(data.exercise), data.completed);
    return label || event.type;
  }
  const ev = th.events;
  switch (event.type) {
    case 'checkin_request':
      return ev.checkin_request(th.instruments[data.instrument] || data.instrument, whoTo(event.to || data.to));
    case 'checkin_response':
      return typeof data.value === 'number'
        ? ev.checkin_response_suds(data.value)
        : ev.checkin_response_zone(zoneName(th, data.value));
    case 'suggest_grounding':
      return ev.suggest_grounding(ctx.exerciseName(data.exercise), whoTo(event.to || data.to));
    case 'participant_joined':
    case 'participant_left':
      return `${ev[event.type]}: ${nameOf(ctx, data.participant?.id)}`;
    case 'location_shared':
      return ev.location_shared(data.text || '');
    case 'cue':
      return th.rules[data.rule] || data.message || data.rule;
    default:
      return typeof ev[event.type] === 'string' ? ev[event.type] : event.type;
  }
}
