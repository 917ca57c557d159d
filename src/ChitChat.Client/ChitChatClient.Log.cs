using Microsoft.Extensions.Logging;

namespace ChitChat.Client;

// EventIds 8000-8099 (the client), 8100-8199 (room synchronization). Tokens and passwords are never logged.
public sealed partial class ChitChatClient
{
    [LoggerMessage(EventId = 9000, EventName = "Connected", Level = LogLevel.Information, Message = "Connected to the hub.")]
    private partial void LogConnected();

    [LoggerMessage(EventId = 9001, EventName = "Reconnecting", Level = LogLevel.Warning, Message = "The connection dropped ({Reason}); reconnecting.")]
    private partial void LogReconnecting(string? reason);

    [LoggerMessage(EventId = 9002, EventName = "Reconnected", Level = LogLevel.Information, Message = "Reconnected; re-joining the rooms.")]
    private partial void LogReconnected();

    [LoggerMessage(EventId = 9003, EventName = "Retrying", Level = LogLevel.Warning, Message = "The automatic reconnect gave up ({Reason}); retrying on our own.")]
    private partial void LogRetrying(string? reason);

    [LoggerMessage(EventId = 9004, EventName = "RetryFailed", Level = LogLevel.Debug, Message = "A reconnect attempt failed: {Reason}")]
    private partial void LogRetryFailed(string reason);

    [LoggerMessage(EventId = 9005, EventName = "TokenRequested", Level = LogLevel.Debug, Message = "Getting an access token (refresh: {Refresh}).")]
    private partial void LogTokenRequested(bool refresh);

    [LoggerMessage(EventId = 9006, EventName = "TokenRefused", Level = LogLevel.Information, Message = "The server refused the access token ({Where}); getting a new one.")]
    private partial void LogTokenRefused(string where);

    [LoggerMessage(EventId = 9007, EventName = "LoggedIn", Level = LogLevel.Debug, Message = "Logged in as {UserName}.")]
    private partial void LogLoggedIn(string userName);

    [LoggerMessage(EventId = 9010, EventName = "JoinDeferred", Level = LogLevel.Debug, Message = "Joining {Room} was interrupted ({Reason}); it completes after the reconnect.")]
    private partial void LogJoinDeferred(string room, string reason);

    [LoggerMessage(EventId = 9011, EventName = "RejoinRefused", Level = LogLevel.Warning, Message = "Re-joining {Room} after a reconnect was refused ({Code}); the subscription ends.")]
    private partial void LogRejoinRefused(string room, string code);

    [LoggerMessage(EventId = 9012, EventName = "RejoinInterrupted", Level = LogLevel.Debug, Message = "Re-joining {Room} was interrupted ({Reason}); the next reconnect re-joins.")]
    private partial void LogRejoinInterrupted(string room, string reason);

    [LoggerMessage(EventId = 9013, EventName = "LeaveDropped", Level = LogLevel.Debug, Message = "LeaveRoom {Room} did not reach the server ({Reason}).")]
    private partial void LogLeaveDropped(string room, string reason);

    [LoggerMessage(EventId = 9014, EventName = "TypingDropped", Level = LogLevel.Debug, Message = "A typing notice was dropped ({Reason}).")]
    private partial void LogTypingDropped(string reason);

    [LoggerMessage(EventId = 9015, EventName = "RemovedFromRoom", Level = LogLevel.Information, Message = "Removed from {Room} ({Reason}); the subscription ends.")]
    private partial void LogRemoved(string room, string reason);

    [LoggerMessage(EventId = 9020, EventName = "SendQueued", Level = LogLevel.Trace, Message = "Queued a message to {Room} ({ClientMessageId}).")]
    private partial void LogQueued(string room, string clientMessageId);

    [LoggerMessage(EventId = 9021, EventName = "SendAcked", Level = LogLevel.Trace, Message = "Message {ClientMessageId} to {Room} acknowledged as seq {Seq} after {Attempts} attempt(s).")]
    private partial void LogAcked(string room, string clientMessageId, long seq, int attempts);

    [LoggerMessage(EventId = 9022, EventName = "SendInterrupted", Level = LogLevel.Debug, Message = "Message {ClientMessageId} to {Room} got no acknowledgement ({Reason}); it is sent again after the reconnect.")]
    private partial void LogSendInterrupted(string room, string clientMessageId, string reason);

    [LoggerMessage(EventId = 9023, EventName = "SendRefused", Level = LogLevel.Debug, Message = "Message {ClientMessageId} to {Room} was refused: {Code}.")]
    private partial void LogSendRefused(string room, string clientMessageId, string code);

    [LoggerMessage(EventId = 9024, EventName = "SendDeferred", Level = LogLevel.Debug, Message = "Message {ClientMessageId} to {Room} answered {Code}; retrying in {Delay}.")]
    private partial void LogSendDeferred(string room, string clientMessageId, string code, TimeSpan delay);

    [LoggerMessage(EventId = 9030, EventName = "HandlerFailed", Level = LogLevel.Error, Message = "An event handler of the application threw.")]
    private partial void LogHandlerFailed(Exception exception);

    [LoggerMessage(EventId = 9031, EventName = "LimitsUnavailable", Level = LogLevel.Debug, Message = "GET /api/limits failed ({Reason}); a hub rate_limited error has no retry delay.")]
    private partial void LogLimitsUnavailable(string reason);

    [LoggerMessage(EventId = 9032, EventName = "StopFailed", Level = LogLevel.Debug, Message = "Stopping the hub connection failed: {Reason}")]
    private partial void LogStopFailed(string reason);
}
