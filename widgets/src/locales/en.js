/**
 * English strings for both widgets. Every user-facing word lives here (and in the other
 * locale files with the same keys). Client-side words are plain and warm, never clinical:
 * see the "Words" section of the clinical background. Accessible names of controls that the
 * public contract fixes (§7) are marked "contract".
 */
export default {
  // Connection state, shown politely in a role="status" region.
  connection: {
    idle: 'Not connected yet',
    connecting: 'Connecting…',
    online: 'Connected',
    offline: 'Reconnecting… anything you press is kept and sent when we are back.',
    refused: {
      invalid_token: 'This link is not valid. Please ask for a new one.',
      token_expired: 'This link has expired. Please ask for a new one.',
      session_not_found: 'This session could not be found.',
      session_ended: 'This session has ended.',
      origin_not_allowed: 'This page is not allowed to connect to the service.',
      default: 'Could not connect.',
    },
    ended: 'This session has ended.',
    noToken: 'No join token was given.',
  },

  client: {
    title: 'Comfort',
    intro: 'Only your therapist sees what you press here.',
    pause: 'Pause', // contract
    resume: 'Ready to go on',
    keepGoing: 'Keep going', // contract
    slowDown: 'Slow down', // contract
    grounding: 'Grounding', // contract
    pauseHint: 'I need a pause',
    keepGoingHint: "I'm okay, keep going",
    slowDownHint: 'Slow down, please',
    groundingHint: 'A calming exercise',
    pausedTitle: "It's okay to take a moment.",
    // What the pause has reached is said in the feedback line below it, never ahead of the truth.
    pausedBody: 'Take all the time you need.',
    zoneLegend: 'How are you right now?',
    zones: {
      too_much: 'Too much',
      okay: 'Okay',
      shut_down: 'Shut down',
    },
    zoneHints: {
      too_much: 'racing, tense, overwhelmed',
      okay: 'I can think and feel',
      shut_down: 'numb, far away, flat',
    },
    // Feedback about the last press.
    pressed: {
      pause: 'You asked for a pause.',
      resume: 'You said you are ready to go on.',
      keep_going: 'You said: keep going.',
      slow_down: 'You asked to slow down.',
      zone: (zone) => `You said: ${zone}.`,
    },
    queued: 'It will be sent as soon as we are connected.',
    keptSince: (time) => `Kept on this device since ${time}.`,
    sending: 'Sending…',
    sent: 'Sent to your therapist.',
    sentLate: (sent, pressed) => `Sent to your therapist at ${sent} (you pressed it at ${pressed}).`,
    seen: 'Your therapist saw this', // contract
    undo: 'Undo',
    undone: 'Undone. Nothing was shown.',
    retracted: 'Undone.',
    tooLateToUndo: "It's too late to undo that, and that's okay.",
    notSent: 'That could not be sent.',
    // Check-in prompt.
    checkinTitle: 'Your therapist is checking in',
    sudsLegend: 'How upset do you feel right now, from 0 to 10?',
    sudsAnchors: {
      0: 'calm, at peace',
      5: 'upset, but I can go on',
      10: 'the most upset I can imagine',
    },
    // Not "Where are you": that is the location question's (contract §9.2).
    zoneQuestion: 'How are you right now?',
    send: 'Send', // contract
    notNow: 'Not now',
    close: 'Close',
    checkinThanks: 'Thank you. Your therapist has your answer.',
    answerKept: 'Your answer is kept on this device.',
    answerSending: 'Sending your answer…',
    answerLate: 'Thank you. Your answer arrived after the question had closed; it is kept, and your therapist can see it.',
    answerClosed: "Your answer could not be delivered: the question had already closed. That's okay — you can tell your therapist any time.",
    answerNotSent: 'Your answer could not be sent.',
    checkinClosed: "This question has closed. That's okay — you can tell your therapist any time.",
    chooseFirst: 'Choose an answer first.',
    // Grounding.
    groundingTitle: 'Grounding',
    groundingIntro: 'Choose an exercise. You can stop at any time.',
    exercises: {
      box_breathing: 'Box breathing', // contract
      breathing_478: '4-7-8 breathing', // contract
      paced_breathing: 'Paced breathing', // contract
      five_senses: '5-4-3-2-1 senses', // contract
    },
    exerciseHints: {
      box_breathing: 'In 4, hold 4, out 4, hold 4',
      breathing_478: 'In 4, hold 7, out 8 — up to 4 rounds',
      paced_breathing: 'Slow, even breaths at your own pace',
      five_senses: 'Notice what is around you, step by step',
    },
    phases: {
      in: 'Breathe in',
      hold: 'Hold',
      out: 'Breathe out',
    },
    cycle: (n, total) => (total ? `Round ${n} of ${total}` : `Round ${n}`),
    seconds: (s) => `${s}`,
    sitDown: 'Sit comfortably. If you feel light-headed, stop and breathe normally.',
    rateLabel: 'Breaths a minute',
    rateValue: (r) => `${r} breaths a minute`,
    // Not "Hold": that is a breathing phase. "Wait" freezes the exercise where it is.
    wait: 'Wait',
    carryOn: 'Continue',
    stop: 'Stop exercise',
    back: 'Back',
    next: 'Next',
    done: 'Done',
    hideExercises: 'Hide exercises',
    phaseFor: (phase, seconds) => `${phase} for ${seconds}`,
    wellDone: 'Well done. Take your time before going on.',
    senses: [
      { count: 5, text: 'Look around. Name 5 things you can see.' },
      { count: 4, text: 'Notice 4 things you can touch or feel.' },
      { count: 3, text: 'Listen. Name 3 things you can hear.' },
      { count: 2, text: 'Notice 2 things you can smell — or a smell you like.' },
      { count: 1, text: 'Notice 1 thing you can taste — or a taste you like.' },
    ],
    step: (n, total) => `Step ${n} of ${total}`,
    suggestion: (name) => `Your therapist suggests ${name}. Would you like to try it?`,
    suggestionEarlier: (name, time) => `Earlier (at ${time}), your therapist suggested ${name}. You can still try it if you like.`,
    startExercise: 'Start',
    motionReduced: 'Animation is off because your device asks for reduced motion.',
    // The connection, in the client's words (status line, offline notice, refusals).
    reconnecting: 'Reconnecting…',
    offlineTitle: 'The connection dropped.',
    offlineBody: "We're trying to reconnect. Anything you press is kept on this device and sent as soon as we're back.",
    // Before this page was ever connected: nothing dropped, so never "reconnect" or "back".
    connecting: 'Connecting…',
    notConnectedTitle: 'Not connected yet.',
    notConnectedBody: "We're still trying to connect. Anything you press is kept on this device and sent as soon as we're connected.",
    whatToDo: 'If you need to stop now, say so out loud or turn your camera off.',
    cameraOff: 'Turn my camera off',
    cameraOn: 'Turn my camera back on',
    cameraIsOff: 'Your camera is off.',
    refused: {
      invalid_token: 'This link is not valid. Please ask for a new one.',
      token_expired: 'This link has expired. Please ask your therapist or the clinic for a new one.',
      session_not_found: 'This session is no longer available. Please ask your therapist or the clinic for a new link.',
      origin_not_allowed:
        "This page can't reach your therapist's comfort service yet, so nothing can be sent from here. Please let your therapist or the clinic know.",
      default: "This can't connect right now. Please let your therapist or the clinic know.",
    },
    // Help now and the safety plan (contract §9.2).
    helpNow: 'Help now', // contract
    helpHint: 'If you feel unsafe',
    supportTitle: 'Help and support',
    emergency: 'If you are in danger right now, call your local emergency number.',
    resourcesIntro: 'You can also reach:',
    call: (number) => `Call ${number}`,
    text: (number) => `Text ${number}`,
    open: 'Open website',
    linkName: (visible, label) => `${visible} — ${label}`,
    helpKept: 'Your request for help is kept on this device and will be sent as soon as we are connected. If you can, say out loud that you need help now.',
    helpSending: 'Sending your request for help…',
    helpSent: 'Your request for help was sent to your therapist.',
    helpSeen: 'Your therapist saw your request for help.',
    helpNotSent: 'Your request for help could not be sent from here. Please say out loud that you need help now, or use one of the contacts below.',
    helpTakenBack: 'You took back your request for help.',
    takeBack: 'Take it back',
    locationQuestion: 'Where are you right now?', // the name must begin "Where are you" (contract)
    locationWhy:
      'Your therapist asks at each session so they could get you help quickly if it were ever needed. A town or an address is enough. Only your therapist sees it.',
    share: 'Share', // contract
    skip: 'Skip',
    locationEmpty: 'Write where you are first, or choose Skip.',
    locationAgain: 'Tell my therapist where I am',
    locationKept: 'Where you are is kept on this device. It will be sent as soon as we are connected.',
    locationSent: 'Where you are was sent to your therapist.',
    locationNotSent: 'Where you are could not be sent. You can tell your therapist out loud.',
    youShared: (text) => `You shared: “${text}”`,
    // The end of the session.
    closingTitle: 'The session has ended',
    closingBody: 'Thank you for today. Before you go on with your day, you can take a few slow breaths or try a grounding exercise here.',
    closingPaused: "The session ended while you had paused. That's okay — take all the time you need here.",
    closingUnsent: 'Something you pressed at the very end could not be sent. You can tell your therapist next time.',
    shortcut: 'Shortcut: Alt+Shift+P pauses from anywhere on this page (Option+Shift+P on a Mac).',
  },

  therapist: {
    title: 'Session comfort',
    locale: 'en', // for times and dates
    privacyNote: 'Private: keep this panel off any shared screen.',
    views: 'View',
    live: 'Live',
    summary: 'Summary',
    clockNotStarted: (m) => `Not started · ${m} min planned`,
    clockRunning: (elapsed, left) => `${elapsed} min in · ${left} min left`,
    clockOver: (elapsed, over) => `${elapsed} min in · ${over} min over`,
    clockEnded: 'Session ended',
    sound: 'Soft sound for pauses and urgent cues',
    clientsHeading: 'Clients',
    // Who a row or card is about before the panel's first welcome, which brings the display names
    // (therapist/names.js): a role, numbered (n) only when the log holds several of it.
    placeholderName: {
      client: (n) => (n ? `Client ${n}` : 'Client'),
      therapist: (n) => (n ? `Therapist ${n}` : 'Therapist'),
    },
    connected: 'Connected',
    away: 'Not connected',
    paused: 'Paused',
    notPaused: 'Not paused',
    pace: 'Pace',
    paceValues: { slow_down: 'Slow down', keep_going: 'Keep going', null: '—' },
    zone: 'Zone',
    zoneValues: { too_much: 'Too much', okay: 'Okay', shut_down: 'Shut down', null: '—' },
    suds: 'Distress',
    sudsNone: '—',
    sudsTrend: (values) => `Distress trend: ${values.join(', ')}`,
    grounding: 'Grounding',
    groundingNone: '—',
    actionsHeading: 'Actions',
    checkIn: 'Check in', // contract
    checkInSuds: 'Distress (SUDS 0–10)', // contract
    checkInZone: 'Zone', // contract
    suggestGrounding: 'Suggest grounding',
    who: 'Ask',
    everyone: 'All clients',
    // Before the panel's first connection the two actions wait: it knows no client to ask yet.
    actionsWait: 'Available once the panel connects.',
    // The line under the actions: where the latest request stands. Never "sent" before the
    // service has stored it (its ack); "not sent yet" while it is kept on this device.
    requests: {
      checkin: {
        notYet: 'Check-in not sent yet',
        sending: 'Sending the check-in…',
        sent: 'Check-in sent.',
        notSent: 'The check-in could not be sent.',
      },
      suggestion: {
        notYet: 'Suggestion not sent yet',
        sending: 'Sending the suggestion…',
        sent: 'Suggestion sent.',
        notSent: 'The suggestion could not be sent.',
      },
      whenBack: (what) => `${what}: it will go out when the connection is back.`,
      onceConnected: (what) => `${what}: it will go out once the panel connects.`,
    },
    attentionHeading: 'Needs attention',
    nothingNeedsAttention: 'Nothing needs attention.',
    // While the panel may be behind: never an all-clear, only what it knows (and since when).
    behind: {
      connecting: 'Not connected yet: what needs attention will show here once it connects.',
      // The same with rows kept in this tab from before a reload: they are not what is to come.
      connectingKept: 'Not connected yet: these came in earlier; anything new will show here once it connects.',
      reconnecting: (time) => `Reconnecting: anything since ${time} will show here when the connection is back.`,
      catchingUp: (time) => `Catching up on what came in since ${time}…`,
      // A pause may be waiting on the client's device: "Not paused" is not known, a pause is.
      unknown: 'Not known',
      asOf: (word, time) => (time ? `${word} · as of ${time}` : `${word} · last known`),
    },
    // Needs attention rows: one per client and kind (the client's name comes first).
    rows: {
      help: 'Asked for help now',
      pause: 'Pause',
      pace: 'Slow down',
      zone: (z) => `Zone: ${z}`,
      distress: (v) => `Distress ${v} of 10`,
      left: 'Left while in distress',
      time: 'Time check: ground before the end',
    },
    times: (n) => `× ${n}`,
    roseFrom: (prev) => `up from ${prev}`,
    resumedAt: (time) => `Ready to go on since ${time}`,
    // A press kept offline on the client's device, then sent (pressed_at: docs/protocol.md).
    pressedArrived: (pressed, arrived) => `pressed ${pressed}, arrived ${arrived}`,
    byCheckIn: 'answer',
    late: 'Late',
    lateHint: 'answered after the check-in closed',
    location: 'Location',
    noLocation: 'No location shared',
    ago: (minutes) => (minutes < 1 ? 'just now' : `${minutes} min ago`),
    // Where this panel's acknowledgement of a signal stands, on the signal's row (therapist/acks.js):
    // never "acknowledged" before the service has it; "not sent yet" while it is kept on this
    // device (with requests.whenBack / onceConnected).
    acks: {
      notYet: 'Acknowledgement not sent yet',
      sending: 'Sending the acknowledgement…',
      notSent: 'The acknowledgement could not be sent.',
    },
    notAcknowledgedBeforeEnd: 'not acknowledged before the end',
    answeredBy: (names) => `Answered: ${names}`,
    notAnswered: (names) => `No answer: ${names}`,
    checkinClosed: 'closed',
    leftContext: { pause: 'while paused', help_now: 'after asking for help', distress: 'soon after distress' },
    // The Summary view (<comfort-summary>).
    summaryView: {
      title: 'Session summary',
      live: 'Live: updates as the session goes on',
      final: 'Final',
      updated: (time) => `updated ${time}`,
      when: (date, from, to, minutes, planned) =>
        `${date}, ${from}–${to} · ${minutes} min${planned ? ` (${planned} planned)` : ''}`,
      print: 'Print',
      copy: 'Copy as text',
      copied: 'Copied. Paste it into your note.',
      copyFailed: 'Copying is not allowed here: the text is below, selected, to copy by hand.',
      refresh: 'Refresh',
      loading: 'Loading the summary…',
      failed: 'The summary could not be loaded.',
      refused: 'This link cannot open the summary.',
      retry: 'Try again',
      timelineLabel: (n) =>
        `Timeline of the session for ${n} ${n === 1 ? 'client' : 'clients'}: distress answers, zones, pauses and cues. The same facts are listed below.`,
      key: 'Key',
      keyLegend:
        'Filled band: paused. Zones: ˄ too much, ˅ shut down, ○ okay. Hollow or dashed mark: late answer. Diamond !: asked for help now. Cues: ●!! urgent, ▲! attention, ○ info.',
      pausesUnknown: 'When each pause began is not in this summary; the counts below are.',
      cuesRow: 'Cues',
      suds: 'SUDS',
      zones: 'Zones',
      pauses: 'Pauses',
      paused: 'paused',
      pausedJustNow: 'paused just now',
      pausedSince: (time) => `paused since ${time}`,
      help: 'Asked for help now',
      grounding: 'Grounding',
      none: '—',
      late: 'late',
      madeAt: (how, time) => `${how} at ${time}`,
      sources: { signal: 'pressed', answer: 'answered' },
      completed: 'completed',
      stoppedEarly: 'stopped early',
      minSec: (m, s) => `${m} min ${s} s`,
      sec: (s) => `${s} s`,
      cues: 'Cues',
      noCues: 'No cues.',
      counts: 'Counts',
      countNames: {
        pause: 'Pause',
        resume: 'Ready to go on',
        keep_going: 'Keep going',
        slow_down: 'Slow down',
        zone: 'Zone pressed',
        help_now: 'Asked for help now',
        grounding_started: 'Grounding started',
        grounding_finished: 'Grounding finished',
        checkin_request: 'Check-ins',
        checkin_response: 'Answers',
        suggest_grounding: 'Grounding suggested',
        acknowledge: 'Acknowledged',
        retract: 'Withdrawn',
        cue: 'Cues',
      },
    },
    feedHeading: 'Feed',
    feedEmpty: 'Nothing yet.',
    acknowledge: 'Acknowledge', // contract
    acknowledged: 'Acknowledged',
    withdrawn: 'Withdrawn by the client',
    gotIt: 'Got it',
    severity: { urgent: 'Urgent', warn: 'Attention', info: 'Info' },
    signals: {
      pause: 'Pause',
      resume: 'Ready to go on',
      keep_going: 'Keep going',
      slow_down: 'Slow down',
      zone: (z) => `Zone: ${z}`,
      grounding_started: (ex) => `Grounding started: ${ex}`,
      grounding_finished: (ex, completed) =>
        `Grounding finished: ${ex}${completed ? '' : ' (stopped early)'}`,
      help_now: 'Asked for help now',
    },
    events: {
      checkin_request: (instrument, who) => `Check-in to ${who}: ${instrument}`,
      checkin_response_suds: (v) => `Distress answer: ${v} of 10`,
      checkin_response_zone: (z) => `Zone answer: ${z}`,
      checkin_expired: 'Check-in closed without an answer',
      suggest_grounding: (ex, who) => `Suggested ${ex} to ${who}`,
      acknowledge: 'Acknowledged',
      retract: 'Withdrew a press',
      participant_joined: 'Joined',
      participant_left: 'Left',
      session_started: 'Session started',
      session_ended: 'Session ended',
      end_session: 'Ended the session',
      cue: (rule) => `Cue: ${rule}`,
      location_shared: (text) => `Location: ${text}`,
    },
    instruments: { suds: 'Distress (SUDS 0–10)', zone: 'Zone' },
    rules: {
      pause_unacknowledged: 'Pause not yet acknowledged',
      distress_high: 'High distress',
      distress_rising: 'Distress rising',
      out_of_window: 'Out of window',
      repeated_pause: 'Repeated pauses',
      checkin_unanswered: 'Check-in unanswered',
      disconnected_in_distress: 'Disconnected while in distress',
      time_remaining: 'Time check',
      help_requested: 'Help requested',
    },
    by: (name) => `by ${name}`,
    system: 'System',
  },
};
