/**
 * What the therapist panel shows, as a pure function of the log: the rows of *Needs attention*
 * (contract §9.7) and the rows of the feed, each event in exactly one of them. Nothing here
 * touches the DOM or the network; the panel renders these rows and the rules are unit-tested.
 *
 * Needs attention holds what needs the therapist now, one row per client and kind, ordered by
 * severity (a client's "Help now" — I feel unsafe — heads the urgent rows) and then by how long
 * it has waited:
 *   urgent  help now · pause (stop signal) · left while in distress · any other urgent cue
 *   warn    high or rising distress · out of window · slow down · time check before the end ·
 *           any other warn cue
 * A row leaves when the therapist's acknowledgement is stored (the service acked it, or it is in
 * the log; one only kept on this device, or on its way, leaves the row where it is, marked), or
 * the therapist says "Got it" where the service has nothing to acknowledge, when the client
 * withdraws the signal, or when the client's own later
 * signal says they are back: a later "Okay" zone clears an out-of-window zone, a later "Keep
 * going" a "Slow down", a later SUDS answer that raised no cue a distress row, a return a
 * "left while in distress". A pause stays until acknowledged even after "Ready to go on" (the
 * client asked to stop and should learn they were seen; contract §5, pause_unacknowledged).
 *
 * A cue about one event is folded into that event's row (the pause it reminds about, the answer
 * it rates, the check-in nobody answered), so nothing is shown twice.
 */
import { SIGNAL_TYPES, idMap, indexLog } from '../state.js';
import { ACK_UNSENT } from './acks.js';

/** Client signals as the panel knows them: the contract's, plus `help_now` (§9.2). */
export const PANEL_SIGNALS = new Set([...SIGNAL_TYPES, 'help_now']);

export const SEVERITY_RANK = { urgent: 0, warn: 1, info: 2 };

/**
 * Cues that speak about one event of the log, and which of their `related_seq` that is
 * (contract §5): the cue is shown on that event's row, never as a row of its own.
 */
const FOLDED_CUES = {
  pause_unacknowledged: 'first',
  help_requested: 'first',
  out_of_window: 'first',
  checkin_unanswered: 'first',
  distress_high: 'last',
  distress_rising: 'last',
  repeated_pause: 'last',
};

const DISTRESS_RULES = new Set(['distress_high', 'distress_rising']);

export function isPanelSignal(event) {
  return !!event && event.actor?.role === 'client' && PANEL_SIGNALS.has(event.type);
}

/**
 * True for the signals that ask the therapist for a response, and so get an Acknowledge
 * button: a pause, a slow-down, an out-of-window zone, help now. Informational signals
 * (ready to go on, keep going, grounding started or finished, an "Okay" zone) are shown
 * without one.
 */
export function owesResponse(event) {
  if (!isPanelSignal(event)) return false;
  if (event.type === 'zone') return event.data?.zone !== 'okay';
  return event.type === 'pause' || event.type === 'slow_down' || event.type === 'help_now';
}

/** The event a cue is about, when it is one whose row should carry it; otherwise null. */
export function cueHost(cue, bySeq) {
  const side = FOLDED_CUES[cue.data?.rule];
  const related = cue.data?.related_seq || [];
  if (!side || !related.length) return null;
  const seq = side === 'first' ? related[0] : related[related.length - 1];
  return bySeq.has(seq) ? seq : null;
}

function timeOf(event) {
  const ms = Date.parse(event.at);
  return Number.isNaN(ms) ? 0 : ms;
}

/**
 * Folds the log into the panel's rows.
 *
 * Args:
 *   events: the session's log as the therapist sees it, in seq order.
 *   options.dismissed: seqs the therapist put away with "Got it" (kept per tab): cues, and
 *     signals once the session has ended.
 *   options.acks: Map seq -> state of this panel's acknowledgements not yet in the log
 *     (acks.js ackStates): "stored" (the service has it) settles the signal as the log's would;
 *     "queued" (kept on this device) and "sending" leave it where it is, with nothing more to
 *     press; "rejected" leaves it to be acknowledged again.
 *
 * Returns {attention: [Row], feed: [Row] (newest first), locations: {clientId: Event}}.
 * A Row is {key, kind, severity, clientId, event (the newest event of the row), since (ms of the
 * oldest), members: [Event], cues: [Event], ackSeqs: [seq], ackState, dismissSeqs: [seq], late,
 * resumed, answers: {clientId: Event}, expired}. `ackSeqs` are the signals its Acknowledge
 * acknowledges (none whose acknowledgement is kept or on its way); `ackState` where the row's
 * own acknowledgement stands, null when it has none pending: "queued" before "sending" before
 * "rejected" (the least sent speaks for the row); `dismissSeqs` the cues its "Got it" puts away.
 */
export function panelView(events, { dismissed = [], acks = new Map() } = {}) {
  const index = indexLog(events);
  const { bySeq } = index;
  const gone = new Set(dismissed);
  // Put away: acknowledged (in the log, or acked by the service on its way to the log),
  // withdrawn, or (after the session ended, when nothing can be sent) put away with "Got it".
  // An acknowledgement only kept on this device, or still on its way, puts nothing away.
  const settled = (seq) =>
    index.acknowledged.has(seq) || index.retracted.has(seq) || acks.get(seq) === 'stored' || gone.has(seq);
  const unsent = (seq) => ACK_UNSENT.has(acks.get(seq));

  // Cues folded into the row of the event they are about; check-in expiries into their request.
  const hostedCues = new Map(); // host seq -> [cue]
  const hosted = new Set(); // seqs shown inside another row
  for (const event of events) {
    let host = null;
    if (event.type === 'cue') host = cueHost(event, bySeq);
    else if (event.type === 'checkin_expired' && bySeq.has(event.data?.checkin_seq)) host = event.data.checkin_seq;
    if (host == null) continue;
    hosted.add(event.seq);
    if (event.type === 'cue') {
      const list = hostedCues.get(host) || [];
      list.push(event);
      hostedCues.set(host, list);
    }
  }
  const cuesOn = (seq) => hostedCues.get(seq) || [];

  // Per client, in log order: what later events say about earlier ones.
  const byClient = new Map();
  const track = (id) => {
    if (!byClient.has(id)) {
      byClient.set(id, {
        help: [],
        pauses: [],
        pace: [],
        zones: [],
        distress: [],
        left: [],
        time: [],
        lastOkayZone: -1,
        lastKeepGoing: -1,
        lastCalmAnswer: -1,
        lastReturn: -1,
        lastGrounding: -1,
        lastResume: null,
      });
    }
    return byClient.get(id);
  };
  const instruments = new Map(); // checkin_request seq -> instrument
  const locations = idMap();
  const others = []; // urgent and warn cues that are about no event

  for (const event of events) {
    const actor = event.actor || {};
    const data = event.data || {};
    if (event.type === 'checkin_request') instruments.set(event.seq, data.instrument);
    if (actor.role === 'client') {
      const t = track(actor.id);
      const withdrawn = index.retracted.has(event.seq);
      switch (event.type) {
        case 'help_now':
          t.help.push(event);
          break;
        case 'pause':
          t.pauses.push(event);
          break;
        case 'resume':
          if (!withdrawn) t.lastResume = event;
          break;
        case 'slow_down':
          t.pace.push(event);
          break;
        case 'keep_going':
          if (!withdrawn) t.lastKeepGoing = event.seq;
          break;
        case 'zone':
          if (data.zone === 'okay') {
            if (!withdrawn) t.lastOkayZone = event.seq;
          } else {
            t.zones.push(event);
          }
          break;
        case 'checkin_response': {
          const instrument = instruments.get(data.checkin_seq);
          if (instrument === 'zone' || typeof data.value === 'string') {
            if (data.value === 'okay') t.lastOkayZone = event.seq;
            else if (cuesOn(event.seq).some((c) => c.data?.rule === 'out_of_window')) t.zones.push(event);
          } else if (cuesOn(event.seq).some((c) => DISTRESS_RULES.has(c.data?.rule))) {
            t.distress.push(event);
          } else {
            t.lastCalmAnswer = event.seq;
          }
          break;
        }
        case 'grounding_started':
          if (!withdrawn) t.lastGrounding = event.seq;
          break;
        case 'location_shared':
          locations[actor.id] = event;
          break;
        default:
          break;
      }
    } else if (event.type === 'participant_joined' && data.participant?.role === 'client') {
      track(data.participant.id).lastReturn = event.seq;
    } else if (event.type === 'cue' && !hosted.has(event.seq)) {
      const cid = data.client_id;
      if (data.rule === 'disconnected_in_distress' && cid) track(cid).left.push(event);
      else if (data.rule === 'time_remaining' && data.severity === 'warn' && cid) track(cid).time.push(event);
      else if (data.severity === 'urgent' || data.severity === 'warn') others.push(event);
    }
  }

  const attention = [];
  const inAttention = new Set();
  const addRow = (row) => {
    attention.push(row);
    for (const e of row.members) inAttention.add(e.seq);
    for (const c of row.cues) inAttention.add(c.seq);
  };

  for (const [clientId, t] of byClient) {
    // Signals owed a response: open until acknowledged or withdrawn, or (for pace and zone)
    // until the client says they are back.
    const open = (list, after) => list.filter((e) => !settled(e.seq) && e.seq > after);
    const help = open(t.help, -1);
    if (help.length) addRow(signalRow('help', 'urgent', clientId, help, cuesOn, acks));
    const pauses = open(t.pauses, -1);
    if (pauses.length) {
      const row = signalRow('pause', 'urgent', clientId, pauses, cuesOn, acks);
      if (t.lastResume && t.lastResume.seq > row.event.seq) row.resumed = t.lastResume;
      addRow(row);
    }
    const pace = open(t.pace, t.lastKeepGoing);
    if (pace.length) addRow(signalRow('pace', 'warn', clientId, pace, cuesOn, acks));
    const zones = t.zones.filter((e) =>
      e.type === 'zone'
        ? !settled(e.seq) && e.seq > t.lastOkayZone
        : e.seq > t.lastOkayZone && cuesOn(e.seq).some((c) => c.data?.rule === 'out_of_window' && !gone.has(c.seq)),
    );
    if (zones.length) addRow(signalRow('zone', 'warn', clientId, zones, cuesOn, acks, gone));
    // Distress answers, out-of-window answers, departures and time checks: the service has no
    // signal to acknowledge, so "Got it" puts them away (remembered for this tab).
    const distress = t.distress.filter(
      (e) => e.seq > t.lastCalmAnswer && cuesOn(e.seq).some((c) => DISTRESS_RULES.has(c.data?.rule) && !gone.has(c.seq)),
    );
    if (distress.length) addRow(signalRow('distress', 'warn', clientId, distress, cuesOn, acks, gone));
    const left = t.left.filter((c) => !gone.has(c.seq) && c.seq > t.lastReturn);
    if (left.length) addRow(cueRow('left', 'urgent', clientId, left));
    const time = t.time.filter((c) => !gone.has(c.seq) && c.seq > t.lastGrounding);
    if (time.length) addRow(cueRow('time', 'warn', clientId, time));
  }
  for (const cue of others) {
    if (gone.has(cue.seq)) continue;
    addRow(cueRow(`cue:${cue.data.rule}:${cue.seq}`, cue.data.severity, cue.data.client_id || null, [cue]));
  }
  attention.sort(
    (a, b) =>
      SEVERITY_RANK[a.severity] - SEVERITY_RANK[b.severity] ||
      (a.kind === 'help' ? 0 : 1) - (b.kind === 'help' ? 0 : 1) ||
      a.since - b.since ||
      a.event.seq - b.event.seq,
  );

  const feed = [];
  const answers = new Map(); // request seq -> {clientId: response}
  for (const event of events) {
    if (event.type === 'checkin_response' && event.data?.checkin_seq != null) {
      const map = answers.get(event.data.checkin_seq) || idMap();
      map[event.actor?.id] = event;
      answers.set(event.data.checkin_seq, map);
    }
  }
  for (const event of events) {
    if (!inFeed(event) || inAttention.has(event.seq) || hosted.has(event.seq)) continue;
    const cues = cuesOn(event.seq).filter((c) => !inAttention.has(c.seq));
    const row = {
      key: `e:${event.seq}`,
      kind: 'event',
      severity: feedSeverity(event, cues),
      clientId: event.actor?.role === 'client' ? event.actor.id : event.data?.client_id || null,
      event,
      since: timeOf(event),
      members: [event],
      cues,
      ackSeqs: owesResponse(event) && !settled(event.seq) && !unsent(event.seq) ? [event.seq] : [],
      ackState: owesResponse(event) && !settled(event.seq) ? acks.get(event.seq) ?? null : null,
      dismissSeqs: [],
      late: event.type === 'checkin_response' && event.data?.late === true,
    };
    if (event.type === 'checkin_request') {
      row.answers = answers.get(event.seq) || idMap();
      row.expired = index.expired.has(event.seq);
    }
    feed.push(row);
  }
  feed.reverse();
  return { attention, feed, locations, index };
}

/** Where a row's acknowledgements stand, the least sent first (see panelView). */
const ACK_STATE_ORDER = ['queued', 'sending', 'rejected'];

/** One row for a client's open signals (or rated answers) of one kind; the newest leads. */
function signalRow(kind, severity, clientId, members, cuesOn, acks, dismissed = new Set()) {
  const cues = members.flatMap((e) => cuesOn(e.seq));
  const newest = members[members.length - 1];
  const escalated = cues.some((c) => c.data?.severity === 'urgent');
  const signals = members.filter((e) => isPanelSignal(e));
  const states = new Set(signals.map((e) => acks.get(e.seq)));
  return {
    key: `${kind}:${clientId}`,
    kind,
    severity: escalated ? 'urgent' : severity,
    clientId,
    event: newest,
    since: timeOf(members[0]),
    members,
    cues,
    // A signal whose acknowledgement is kept or on its way has nothing more to press; one
    // refused, or one that came after, is acknowledged by the row's button.
    ackSeqs: signals.filter((e) => !ACK_UNSENT.has(acks.get(e.seq))).map((e) => e.seq),
    ackState: ACK_STATE_ORDER.find((state) => states.has(state)) ?? null,
    // Answers have no acknowledgement in the protocol: their cues are put away instead.
    dismissSeqs: members
      .filter((e) => !isPanelSignal(e))
      .flatMap((e) => cuesOn(e.seq))
      .filter((c) => !dismissed.has(c.seq))
      .map((c) => c.seq),
    late: members.some((e) => e.type === 'checkin_response' && e.data?.late === true),
  };
}

function cueRow(kind, severity, clientId, cues) {
  const newest = cues[cues.length - 1];
  return {
    key: kind.includes(':') ? kind : `${kind}:${clientId}`,
    kind,
    severity,
    clientId,
    event: newest,
    since: timeOf(cues[0]),
    members: cues,
    cues: [],
    ackSeqs: [],
    ackState: null,
    dismissSeqs: cues.map((c) => c.seq),
    late: false,
  };
}

/**
 * Whether an event has a feed row: acknowledgements and retractions show on the row they are
 * about; a therapist's own comings and goings (a reload, say) are not news to the therapist.
 */
function inFeed(event) {
  if (event.type === 'acknowledge' || event.type === 'retract') return false;
  const presence = event.type === 'participant_joined' || event.type === 'participant_left';
  return !(presence && event.data?.participant?.role === 'therapist');
}

function feedSeverity(event, cues) {
  let best = event.type === 'cue' ? event.data?.severity || 'info' : 'info';
  for (const c of cues) {
    const s = c.data?.severity || 'info';
    if (SEVERITY_RANK[s] < SEVERITY_RANK[best]) best = s;
  }
  return best;
}

/** Every seq a row stands for: its events and the cues folded into it. */
export function rowSeqs(row) {
  return [...row.members.map((e) => e.seq), ...row.cues.map((c) => c.seq)];
}
