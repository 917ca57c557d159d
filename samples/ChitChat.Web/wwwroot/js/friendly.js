// Friendly text for the SDK's typed errors (ChitChatError.code); nothing here parses server strings.
import { ChitChatError } from '../lib/chitchat-client/chitchat-client.js';

const FRIENDLY = {
  validation_failed: 'Please check what you entered.',
  user_exists: 'That user name is already taken. Pick another one.',
  invalid_credentials: 'Wrong user name or password.',
  unauthorized: 'Your session has expired. Please log in again.',
  forbidden: 'You are not allowed to do that.',
  room_exists: 'A room with that name already exists.',
  room_not_found: 'That room does not exist (any more).',
  user_not_found: 'There is no user with that name.',
  rate_limited: 'You are sending messages too fast. Please wait a moment and try again.',
  payload_too_large: 'That message is too long.',
  unavailable: 'The chat service is temporarily unavailable. Please try again in a moment.',
  too_many_rooms: 'You have too many rooms open.',
  network: 'Cannot reach the server. Check your connection and try again.',
  not_connected: 'Not connected. The message will be sent when the connection is back.',
};

const seconds = (ms) => Math.max(1, Math.ceil(ms / 1000));

/**
 * The text to show for an error.
 * @param {unknown} err
 * @param {string} fallback text for errors that are not ChitChatErrors
 * @param {{ http?: boolean }} [context] `http`: a form's request (rate limits there are about attempts, not messages)
 */
export function friendly(err, fallback, context = {}) {
  if (!(err instanceof ChitChatError)) return fallback;
  let text = FRIENDLY[err.code];
  if (err.code === 'validation_failed' && err.errors) {
    const fields = Object.values(err.errors).flat().filter(Boolean).join(' ');
    text = fields || err.detail || text;
  }
  if (!text) text = err.detail || fallback;
  if (err.code === 'rate_limited' && context.http) text = 'Too many attempts. Please wait a moment and try again.';
  if ((err.code === 'rate_limited' || err.code === 'unavailable') && err.retryAfterMs) text = `${text} (retry in ${seconds(err.retryAfterMs)} s)`;
  else if (err.source === 'hub' && err.detail && (err.code === 'validation_failed' || err.code === 'payload_too_large')) text = `${text} ${err.detail}`;
  return text;
}
