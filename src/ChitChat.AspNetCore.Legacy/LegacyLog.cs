using Microsoft.Extensions.Logging;

namespace ChitChat.AspNetCore.Legacy;

/// <summary>Log messages of the legacy API (event ids 7000 to 7999). One shared class: the endpoint extensions, the HTTP API,
/// the WebSocket sessions and the delivery sink all log the same events.</summary>
internal static partial class LegacyLog
{
    [LoggerMessage(EventId = 7000, EventName = "LegacyApiEnabled", Level = LogLevel.Warning,
        Message = "The ChitChat 1 legacy API is enabled. It is unauthenticated by design: anyone who can reach it can post as any user name over /ws/chat/ and read every room through /message/all/. Allowed origins: {Origins}.")]
    public static partial void LegacyApiEnabled(ILogger logger, string origins);

    [LoggerMessage(EventId = 7001, EventName = "LegacyApiDisabled", Level = LogLevel.Debug, Message = "The ChitChat 1 legacy API is disabled (ChitChat:Legacy:Enabled is false); nothing is mapped.")]
    public static partial void LegacyApiDisabled(ILogger logger);

    [LoggerMessage(EventId = 7002, EventName = "LegacyBadRequest", Level = LogLevel.Debug, Message = "A legacy request to {Path} was rejected: {Reason}.")]
    public static partial void BadRequest(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 7003, EventName = "LegacySocketOpened", Level = LogLevel.Debug, Message = "A legacy WebSocket joined room {Room}.")]
    public static partial void SocketOpened(ILogger logger, string room);

    [LoggerMessage(EventId = 7004, EventName = "LegacySocketClosed", Level = LogLevel.Debug, Message = "A legacy WebSocket left room {Room}.")]
    public static partial void SocketClosed(ILogger logger, string room);

    [LoggerMessage(EventId = 7005, EventName = "LegacySocketFailed", Level = LogLevel.Debug, Message = "A legacy WebSocket of room {Room} failed.")]
    public static partial void SocketFailed(ILogger logger, string room, Exception exception);

    [LoggerMessage(EventId = 7006, EventName = "LegacySlowClient", Level = LogLevel.Warning, Message = "A legacy WebSocket of room {Room} fell {Pending} frames behind and was disconnected.")]
    public static partial void SlowClient(ILogger logger, string room, int pending);

    [LoggerMessage(EventId = 7007, EventName = "LegacyFrameDropped", Level = LogLevel.Debug, Message = "A legacy WebSocket frame in room {Room} was dropped: {Reason}.")]
    public static partial void FrameDropped(ILogger logger, string room, string reason);

    [LoggerMessage(EventId = 7008, EventName = "LegacyOriginRejected", Level = LogLevel.Information, Message = "A legacy WebSocket from a disallowed origin was refused.")]
    public static partial void OriginRejected(ILogger logger);

    [LoggerMessage(EventId = 7009, EventName = "LegacyJoinFailed", Level = LogLevel.Error, Message = "A legacy WebSocket could not join room {Room} in the delivery engine; it gets legacy frames only, no native messages.")]
    public static partial void JoinFailed(ILogger logger, string room, Exception exception);
}
