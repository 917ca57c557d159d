using ChitChat.Contracts;

namespace ChitChat.AspNetCore.Http;

/// <summary>The one place that turns the domain model into the wire contracts of <c>ChitChat.Contracts</c>.</summary>
internal static class WireMapping
{
    public static MessageDto ToDto(this ChatMessage message) =>
        new(message.Id, message.Room, message.Seq, message.AuthorId, message.AuthorName, message.Text, message.SentAt.UtcDateTime, message.ClientMessageId);

    public static RoomDto ToDto(this ChatRoom room) => new(room.Id, room.Name, room.CreatedAt.UtcDateTime);

    public static UserDto ToDto(this ChatUser user) => new(user.Id, user.UserName);

    public static ServerLimits ToLimits(ChitChatOptions chat, ChitChatAspNetCoreOptions host) =>
        new(
            MaxMessageLength: chat.MaxMessageLength,
            MaxClientMessageIdLength: chat.MaxClientMessageIdLength,
            DefaultHistoryPageSize: chat.DefaultHistoryPageSize,
            MaxHistoryPageSize: chat.MaxHistoryPageSize,
            CatchUpLimit: chat.CatchUpLimit,
            RecentMessagesOnJoin: host.Hub.RecentMessagesOnJoin,
            MaxRoomsPerConnection: host.Hub.MaxRoomsPerConnection,
            SendRateLimit: chat.SendRateLimit,
            SendRateWindowMs: (long)chat.SendRateWindow.TotalMilliseconds,
            TypingExpiryMs: (long)chat.TypingExpiry.TotalMilliseconds,
            MaxHubMessageSize: host.Hub.MaximumReceiveMessageSize,
            MinUserNameLength: chat.MinUserNameLength,
            MaxUserNameLength: chat.MaxUserNameLength,
            MinPasswordLength: chat.MinPasswordLength);
}
