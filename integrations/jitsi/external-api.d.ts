/**
 * The part of Jitsi Meet's IFrame API (`JitsiMeetExternalAPI`) the Jitsi and JaaS client
 * adapters use, with its command and event names as the Jitsi handbook lists them
 * (jitsi/handbook@39ea553 docs/dev-guide/iframe-commands.md, iframe-events.md,
 * iframe-functions.md), so a name the API does not have fails `npm run typecheck`. The
 * methods are picked from @jitsi/react-sdk's `IJitsiMeetExternalApi` where it declares them,
 * so they cannot drift from the published types; `getRoomsInfo` (which it lacks) and the
 * EventEmitter methods are declared from the handbook.
 */
import type IJitsiMeetExternalApi from "@jitsi/react-sdk/lib/types/IJitsiMeetExternalApi";

/** Every command of iframe-commands.md. */
export type JitsiCommand =
  | "displayName" | "password" | "toggleLobby" | "sendTones" | "startShareVideo" | "stopShareVideo"
  | "subject" | "localSubject" | "toggleAudio" | "toggleVideo" | "toggleFilmStrip" | "toggleChat"
  | "toggleRaiseHand" | "toggleShareScreen" | "setNoiseSuppressionEnabled" | "toggleSubtitles"
  | "toggleTileView" | "hangup" | "endConference" | "email" | "sendCameraFacingMode"
  | "sendEndpointTextMessage" | "setLargeVideoParticipant" | "setVideoQuality" | "muteEveryone"
  | "muteRemoteParticipant" | "startRecording" | "stopRecording" | "initiatePrivateChat"
  | "cancelPrivateChat" | "kickParticipant" | "grantModerator" | "overwriteConfig"
  | "sendChatMessage" | "setFollowMe" | "setSubtitles" | "setTileView" | "answerKnockingParticipant"
  | "toggleCamera" | "toggleCameraMirror" | "toggleVirtualBackgroundDialog" | "pinParticipant"
  | "setParticipantVolume" | "toggleParticipantsPane" | "toggleModeration" | "askToUnmute"
  | "approveVideo" | "rejectParticipant" | "addBreakoutRoom" | "autoAssignToBreakoutRooms"
  | "closeBreakoutRoom" | "joinBreakoutRoom" | "removeBreakoutRoom" | "resizeFilmStrip"
  | "resizeLargeVideo" | "sendParticipantToRoom" | "overwriteNames" | "showNotification"
  | "hideNotification" | "toggleWhiteboard" | "setAssumedBandwidthBps" | "setBlurredBackground"
  | "setAudioOnly" | "setVirtualBackground" | "setMeetingTimer";

/** Every event of iframe-events.md. */
export type JitsiEvent =
  | "cameraError" | "avatarChanged" | "audioAvailabilityChanged" | "audioMuteStatusChanged"
  | "breakoutRoomsUpdated" | "browserSupport" | "contentSharingParticipantsChanged"
  | "customNotificationActionTriggered" | "dataChannelOpened" | "endpointTextMessageReceived"
  | "nonParticipantMessageReceived" | "faceLandmarkDetected" | "errorOccurred" | "knockingParticipant"
  | "largeVideoChanged" | "log" | "micError" | "screenSharingStatusChanged" | "dominantSpeakerChanged"
  | "raiseHandUpdated" | "tileViewChanged" | "chatUpdated" | "incomingMessage" | "mouseEnter"
  | "mouseLeave" | "mouseMove" | "participantMenuButtonClick" | "toolbarButtonClicked"
  | "outgoingMessage" | "displayNameChange" | "deviceListChanged" | "emailChange" | "feedbackSubmitted"
  | "fileDeleted" | "fileUploaded" | "filmstripDisplayChanged" | "toolbarVisibilityChanged"
  | "moderationStatusChanged" | "moderationParticipantApproved" | "moderationParticipantRejected"
  | "notificationTriggered" | "participantJoined" | "participantKickedOut" | "participantLeft"
  | "participantRoleChanged" | "participantsPaneToggled" | "participantMuted" | "passwordRequired"
  | "videoConferenceJoined" | "videoConferenceLeft" | "conferenceCreatedTimestamp"
  | "videoAvailabilityChanged" | "videoMuteStatusChanged" | "videoQualityChanged" | "readyToClose"
  | "recordingLinkAvailable" | "recordingStatusChanged" | "subjectChange" | "suspendDetected"
  | "peerConnectionFailure" | "transcribingStatusChanged" | "transcriptionChunkReceived"
  | "whiteboardStatusChanged" | "p2pStatusChanged" | "audioOnlyChanged";

/** getRoomsInfo()'s answer (iframe-functions.md, "Response example structure"). */
export interface JitsiRoomsInfo {
  rooms: Array<{
    isMainRoom: boolean;
    id: string;
    jid: string;
    participants: Array<{
      id: string;
      jid: string;
      role: string;
      displayName: string;
      avatarUrl?: string;
      userContext?: { id?: string | number } | null;
    }>;
  }>;
}

declare global {
  /** A `JitsiMeetExternalAPI` as the Jitsi and JaaS adapters use it (global: the adapters
   * import nothing by a relative path, types included). */
  interface JitsiIFrameApi
    extends Pick<IJitsiMeetExternalApi, "isVideoMuted" | "isAudioMuted" | "getParticipantsInfo"> {
    executeCommand(name: JitsiCommand, ...args: unknown[]): void;
    getRoomsInfo(): Promise<JitsiRoomsInfo>;
    addListener(event: JitsiEvent, listener: (...args: any[]) => void): unknown;
    removeListener(event: JitsiEvent, listener: (...args: any[]) => void): unknown;
  }
}
